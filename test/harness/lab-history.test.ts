import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { historyRanker } from '../../harness/history/history-ranker.ts';
import { LabHistory } from '../../harness/history/lab-history.ts';
import { ALL_PARTNERS } from '../../harness/protocol/all-partners.ts';
import type { RankPair } from '../../harness/planner/ranker.ts';
import { Store } from '../../harness/store/store.ts';
import { type SeedJob, seedFinishedRun } from '../support/seed-history.ts';

const DAY = 24 * 3600_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const WINDOW = { windowDays: 90, maxRows: 1_000_000 };

const pair = (testId: string, deviceId: string): RankPair => ({
  testId,
  component: 'player',
  deviceId,
  model: 'M1',
  firmware: '1.0',
  platform: 'tizen',
});

describe('the lab history service on a real SQLite store', () => {
  let home: string;
  let store: Store;
  beforeEach(() => {
    home = mkdtempSync(path.join(tmpdir(), 'devlab-history-'));
    store = Store.open(path.join(home, 'devlab.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(home, { recursive: true, force: true });
  });

  const history = (window = WINDOW, snapshotFile?: string, now = NOW) =>
    new LabHistory(store, window, { now: () => now, ...(snapshotFile ? { snapshotFile } : {}) });
  const risk = async (h: LabHistory, testId: string, deviceId: string) =>
    (
      await historyRanker(h, null).score([pair(testId, deviceId)], {
        changedComponents: [],
        historyPartner: ALL_PARTNERS,
      })
    )[0]!.probability;

  it('keeps the newest runs, never the oldest, when the history must be bounded', async () => {
    // Ten old runs in which `a` fails on every device, then ten newer ones in which it passes.
    for (let r = 0; r < 20; r++) {
      const verdict = r < 10 ? 'failed' : 'passed';
      const jobs: SeedJob[] = ['tv-1', 'tv-2'].flatMap((device) => [
        { test: 'a', device, verdict },
        { test: 'b', device, verdict: 'passed' },
      ]);
      seedFinishedRun(store, { at: NOW - (20 - r) * DAY, jobs });
    }
    const bounded = history({ windowDays: 90, maxRows: 40 });
    const load = bounded.load();
    expect(load).toMatchObject({ source: 'replay', runs: 10, rows: 40 });
    expect(bounded.queryHistory().failRate('a')).toBe(0);
    expect(bounded.queryHistory().failedInLast('a', 10)).toBe(false);
    expect(await risk(bounded, 'a', 'tv-1')).toBeLessThan(1e-9);

    // The whole history does remember the failures: the bound is what dropped them.
    const whole = history();
    expect(whole.load().runs).toBe(20);
    expect(whole.queryHistory().failRate('a')).toBe(0.5);
    expect(await risk(whole, 'a', 'tv-1')).toBeGreaterThan(1e-9);
  });

  it('reads only the window: runs finished before it are not history', async () => {
    seedFinishedRun(store, { at: NOW - 100 * DAY, jobs: [{ test: 'a', device: 'tv-1', verdict: 'failed' }] });
    seedFinishedRun(store, { at: NOW - 5 * DAY, jobs: [{ test: 'a', device: 'tv-1', verdict: 'passed' }] });
    const h = history();
    expect(h.load().runs).toBe(1);
    expect(h.queryHistory().failRate('a')).toBe(0);
  });

  it("never counts an infrastructure error as the test's failure: not in risk, not in failrate", async () => {
    const seed = async (verdict: SeedJob['verdict']) => {
      store.db.exec('DELETE FROM jobs; DELETE FROM runs;');
      for (let r = 0; r < 5; r++) {
        const v = r === 3 ? verdict : 'passed';
        seedFinishedRun(store, {
          at: NOW - (10 - r) * DAY,
          jobs: [
            { test: 't', device: 'tv-1', verdict: v },
            { test: 't', device: 'tv-2', verdict: 'passed' },
          ],
        });
      }
      const h = history();
      h.load();
      const q = h.queryHistory();
      return {
        risk: await risk(h, 't', 'tv-1'),
        failrate: q.failRate('t'),
        failedInLast: q.failedInLast('t', 5),
        deviceFailrate: q.failRate('t', { device: 'tv-1' }),
      };
    };
    const passed = await seed('passed');
    const error = await seed('error');
    const failed = await seed('failed');
    expect(error.risk).toBe(passed.risk);
    expect(error.failrate).toBe(0);
    expect(error.deviceFailrate).toBe(0);
    expect(error.failedInLast).toBe(false);
    // The same history with a real failure there does raise them: the checks above can fail.
    expect(failed.risk).toBeGreaterThan(passed.risk);
    expect(failed.failrate).toBeGreaterThan(0);
    expect(failed.failedInLast).toBe(true);
  });

  it('comes back from its snapshot plus what finished after it, as a replay of everything would', async () => {
    const file = path.join(home, 'history', 'snapshot.bin');
    const seedRuns = (from: number, to: number) => {
      for (let r = from; r < to; r++) {
        seedFinishedRun(store, {
          at: NOW - (40 - r) * DAY,
          partner: r % 2 ? 'p1' : 'p2',
          build: `main-${r}`,
          jobs: ['a', 'b', 'c'].flatMap((test, i) => [
            { test, device: 'tv-1', verdict: (r + i) % 4 === 0 ? 'failed' : 'passed' },
            { test, device: 'tv-2', verdict: (r * i) % 5 === 1 ? 'timed-out' : 'flaky' },
          ]),
        });
      }
    };
    seedRuns(0, 20);
    const before = history(WINDOW, file, NOW - 20 * DAY - 3600_000);
    expect(before.load().source).toBe('replay');
    expect(before.saveSnapshot()).toBeGreaterThan(0);
    seedRuns(20, 30);

    const restarted = history(WINDOW, file);
    const load = restarted.load();
    expect(load).toMatchObject({ source: 'snapshot', runs: 10, rows: 60 });
    const replayed = history();
    expect(replayed.load()).toMatchObject({ source: 'replay', runs: 30 });

    const pairs = ['a', 'b', 'c', 'new'].flatMap((t) => [pair(t, 'tv-1'), pair(t, 'tv-2')]);
    const scores = (h: LabHistory, historyPartner: string) =>
      historyRanker(h, null).score(pairs, { changedComponents: [], historyPartner, baseBuild: 'main-16' });
    for (const partner of [ALL_PARTNERS, 'p1', 'p2', 'nobody']) {
      // Scores and the reasons each partner reads (from its own runs) alike.
      const ranked = await scores(restarted, partner);
      expect(ranked).toEqual(await scores(replayed, partner));
      expect(ranked.some((r) => r.reasons.length > 0)).toBe(true);
    }
    // What the snapshot kept of the builds tests failed on (main-16 is before it): a fails on it on tv-1.
    expect((await scores(restarted, ALL_PARTNERS))[0]!.reasons).toContain(
      'failed on the base build main-16 (M1)',
    );
    for (const partner of [undefined, 'p1', 'p2']) {
      for (const test of ['a', 'b', 'c']) {
        const r = restarted.queryHistory(partner);
        const f = replayed.queryHistory(partner);
        expect([r.failRate(test), r.failedInLast(test, 3), r.isFlaky(test), r.lastVerdict(test)]).toEqual([
          f.failRate(test),
          f.failedInLast(test, 3),
          f.isFlaky(test),
          f.lastVerdict(test),
        ]);
      }
    }
    expect(restarted.durations.estimateMs('a', 'pool-tv-1', 0)).toBe(
      replayed.durations.estimateMs('a', 'pool-tv-1', 0),
    );
  });

  it('tells a preview which pairs failed on the base build the change is based on', async () => {
    seedFinishedRun(store, {
      at: NOW - 2 * DAY,
      build: 'main-7',
      jobs: [
        { test: 'a', device: 'tv-1', verdict: 'failed' },
        { test: 'b', device: 'tv-1', verdict: 'passed' },
      ],
    });
    const h = history();
    h.load();
    const reasons = async (baseBuild: string) =>
      (
        await historyRanker(h, null).score([pair('a', 'tv-2'), pair('b', 'tv-2')], {
          changedComponents: [],
          historyPartner: ALL_PARTNERS,
          baseBuild,
        })
      ).map((r) => r.reasons);
    const onMain7 = await reasons('main-7');
    expect(onMain7[0]).toContain('failed on the base build main-7 (M1)');
    expect(onMain7[1]!.some((r) => r.includes('base build'))).toBe(false);
    expect((await reasons('main-6'))[0]!.some((r) => r.includes('base build'))).toBe(false);
  });

  it('learns where --confidence cuts from the failing jobs of earlier whole runs, and keeps it in its snapshot', async () => {
    const file = path.join(home, 'history', 'snapshot.bin');
    const run = (r: number, options?: { budgetS: number }) =>
      seedFinishedRun(store, {
        at: NOW - (30 - r) * DAY,
        ...(options ? { options } : {}),
        jobs: [
          // a is the riskiest per second and fails in every third run; c fails, planned as a low risk.
          {
            test: 'a',
            device: 'tv-1',
            verdict: r % 3 === 0 ? 'failed' : 'passed',
            score: 0.6,
            estDurationMs: 1000,
          },
          { test: 'b', device: 'tv-1', verdict: 'passed', score: 0.3, estDurationMs: 1000 },
          { test: 'c', device: 'tv-1', verdict: 'failed', score: 0.1, estDurationMs: 1000 },
        ],
      });
    for (let r = 0; r < 9; r++) run(r);
    const few = history(WINDOW, file, NOW - 21.5 * DAY);
    few.load();
    // 12 failing jobs so far: too few to learn a cut from, so a confidence run would keep every job.
    expect(few.recallCut(0.9)).toEqual({
      confidence: 0.9,
      threshold: Number.POSITIVE_INFINITY,
      failures: 12,
    });
    expect(few.saveSnapshot()).toBeGreaterThan(0);
    for (let r = 9; r < 30; r++) run(r);
    // A run cut to a budget teaches nothing (its skipped jobs never ran).
    run(30, { budgetS: 2 });

    const replayed = history();
    replayed.load();
    const cut = replayed.recallCut(0.9);
    // 30 whole runs: 10 failures of a (entered at 0) and 30 of c (entered at 0.9 of the predicted recall).
    expect(cut.failures).toBe(40);
    expect(cut.threshold).toBeCloseTo(0.9, 6);
    const restarted = history(WINDOW, file);
    expect(restarted.load().source).toBe('snapshot');
    expect(restarted.recallCut(0.9)).toEqual(cut);
  });

  it('replays instead of trusting a snapshot taken with another window', async () => {
    const file = path.join(home, 'history', 'snapshot.bin');
    seedFinishedRun(store, { at: NOW - DAY, jobs: [{ test: 'a', device: 'tv-1', verdict: 'failed' }] });
    history(WINDOW, file).saveSnapshot();
    const other = history({ windowDays: 30, maxRows: 1_000_000 }, file);
    expect(other.load()).toMatchObject({
      source: 'replay',
      note: 'the snapshot was taken with another history window',
    });
  });
});
