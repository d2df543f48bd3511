import { describe, expect, it } from 'vitest';
import { isFlakyNow } from '../../analysis/features/flakiness.ts';
import { HistoryState } from '../../analysis/features/state.ts';
import { FEATURE_COUNT, FEATURE_NAMES, featureMatrix } from '../../analysis/features/vector.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import type { HistoryRow, Verdict } from '../../analysis/history/row.ts';
import { explainPair } from '../../analysis/ranking/reasons.ts';
import { buildReportData } from '../../analysis/report/build.ts';

const row = (cycle: number, test: string, device: string, verdict: Verdict, build?: string): HistoryRow => ({
  cycle: String(cycle),
  test,
  device,
  deviceModel: device.replace(/-\d+$/, ''),
  verdict,
  durationS: 5,
  ...(build ? { build } : {}),
});

function stateOf(rows: HistoryRow[]): HistoryState {
  const state = new HistoryState();
  for (const c of groupCycles(rows)) state.update(c);
  return state;
}

const pairStats = (state: HistoryState, test: string, device: string) =>
  state.get('pair', state.keysOf({ test, device }).pair);

describe('flakiness per (test, device)', () => {
  it('a test with `fail, pass` attempts on one device is flaky on that device, and only there', () => {
    const rows = [
      row(1, 'login', 'tv-1', 'fail'),
      row(1, 'login', 'tv-1', 'pass'),
      row(1, 'login', 'stick-1', 'pass'),
    ];
    const state = stateOf(rows);
    expect(isFlakyNow(pairStats(state, 'login', 'tv-1'))).toBe(true);
    expect(isFlakyNow(pairStats(state, 'login', 'stick-1'))).toBe(false);
    const report = buildReportData({ rows });
    expect(report.flaky).toEqual([
      { test: 'login', device: 'tv-1', runs: 1, failures: 1, retried: 1, flips: 0, flakyRate: 1 },
    ]);
    expect(explainPair(state, { test: 'login', device: 'tv-1' }, {}).join(' | ')).toMatch(
      /flaky: failed then passed on retry in 1 of its last 1 runs on this device/,
    );
    expect(explainPair(state, { test: 'login', device: 'stick-1' }, {}).join(' ')).not.toMatch(/flaky/);
  });

  it('a test failing consistently on one device and passing on the others is not flaky anywhere', () => {
    const rows: HistoryRow[] = [];
    for (let c = 1; c <= 10; c++) {
      rows.push(row(c, 'hevc', 'stick-1', 'fail'));
      for (const d of ['tv-1', 'tv-2', 'tv-3']) rows.push(row(c, 'hevc', d, 'pass'));
    }
    const state = stateOf(rows);
    for (const d of ['stick-1', 'tv-1', 'tv-2', 'tv-3']) {
      expect(isFlakyNow(pairStats(state, 'hevc', d))).toBe(false);
      expect(explainPair(state, { test: 'hevc', device: d }, {}).join(' ')).not.toMatch(/flaky|flip/);
    }
    // Nor for the test as a whole: no flaky event on any device, so its flakiness features are 0.
    const test = state.get('test', 'hevc')!;
    expect(test.flips + test.retryFlakes).toBe(0);
    const dense = featureMatrix(state, [{ test: 'hevc', device: 'stick-1' }], {});
    for (const name of ['pair_flaky_rate', 'test_flaky_rate'] as const)
      expect(dense[FEATURE_NAMES.indexOf(name)]).toBe(0);
    expect(dense).toHaveLength(FEATURE_COUNT);
    expect(buildReportData({ rows }).flaky).toEqual([]);
  });

  it('a test whose verdict was `flaky` in every run is in the flaky table, with its reason', () => {
    const rows: HistoryRow[] = [];
    for (let c = 1; c <= 6; c++) rows.push(row(c, 'epg', 'tv-1', 'flaky'), row(c, 'home', 'tv-1', 'pass'));
    const report = buildReportData({ rows });
    expect(report.flaky).toEqual([
      { test: 'epg', device: 'tv-1', runs: 6, failures: 0, retried: 6, flips: 0, flakyRate: 1 },
    ]);
    const epg = report.risk.find((r) => r.test === 'epg')!;
    expect(epg.reasons).toContain(
      'flaky: failed then passed on retry in 6 of its last 6 runs on this device',
    );
  });

  it('flips count on the same build (or where a build is unknown), not across builds', () => {
    // Fails on build 1, fixed on build 2, broken again on 3, fixed on 4: a regression and its fixes.
    const across = ['fail', 'pass', 'fail', 'pass'].map((v, i) =>
      row(i + 1, 'subs', 'tv-1', v as Verdict, `b${i + 1}`),
    );
    expect(pairStats(stateOf(across), 'subs', 'tv-1')!.flips).toBe(0);
    expect(isFlakyNow(pairStats(stateOf(across), 'subs', 'tv-1'))).toBe(false);
    // The same build flipping back and forth is flaky; so is a history without builds.
    const same = across.map((r) => ({ ...r, build: 'b1' }));
    expect(pairStats(stateOf(same), 'subs', 'tv-1')!.flips).toBe(3);
    expect(isFlakyNow(pairStats(stateOf(same), 'subs', 'tv-1'))).toBe(true);
    const unknown = across.map(({ build: _b, ...r }) => r);
    expect(isFlakyNow(pairStats(stateOf(unknown), 'subs', 'tv-1'))).toBe(true);
    expect(buildReportData({ rows: same }).flaky.map((f) => [f.test, f.device, f.flips])).toEqual([
      ['subs', 'tv-1', 3],
    ]);
  });
});
