import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { storePath } from '../../harness/store/database.ts';
import { Store } from '../../harness/store/store.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { resultsByPair } from '../support/run-results.ts';
import { type SeedJob, seedFinishedRun } from '../support/seed-history.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

const MIN = 60_000;
const job = (test: string, device: string, verdict: SeedJob['verdict']): SeedJob => ({
  test,
  device,
  verdict,
});

/**
 * acme's history, written through the store's own code before the control plane starts (it replays it):
 * two runs of the base build main-100, two of an earlier change pr-7, and a run of another partner.
 */
function seedHistory(store: Store, t0: number): void {
  for (let i = 0; i < 2; i++)
    seedFinishedRun(store, {
      at: t0 + i * 10 * MIN,
      partner: 'acme',
      build: 'main-100',
      status: 'failed',
      jobs: [
        job('player.seek', 'tv-1', 'failed'),
        job('player.seek', 'tv-2', 'passed'),
        job('epg.grid', 'tv-1', 'passed'),
        job('epg.grid', 'tv-2', 'passed'),
        job('login', 'tv-1', i === 0 ? 'flaky' : 'passed'),
        job('subs', 'tv-2', 'passed'),
      ],
    });
  for (let i = 0; i < 2; i++)
    seedFinishedRun(store, {
      at: t0 + (30 + i * 10) * MIN,
      partner: 'acme',
      build: 'pr-7',
      status: 'failed',
      jobs: [
        job('subs', 'tv-2', 'failed'),
        job('login', 'tv-1', 'passed'),
        job('epg.grid', 'tv-1', 'passed'),
      ],
    });
  // Another partner's failure of epg.grid on tv-1 says nothing to acme.
  seedFinishedRun(store, {
    at: t0 + 50 * MIN,
    partner: 'globex',
    build: 'main-100',
    status: 'failed',
    jobs: [job('epg.grid', 'tv-1', 'failed'), job('epg.grid', 'tv-1', 'failed')],
  });
}

describe('failure triage of a run on the real control plane (API, JUnit, CLI)', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-triage-'));
  const prefix = `devlab-triage-${process.pid}`;
  const env = { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: REDIS_URL, DEVLAB_REDIS_PREFIX: prefix };
  let config: DevlabConfig;
  let server: ControlPlaneService | null = null;
  const t0 = Date.now() - 6 * 60 * MIN;
  const runs: Record<'pr' | 'tolerable' | 'infra', string> = { pr: '', tolerable: '', infra: '' };

  /** The CLI as its own process (the control plane it asks lives in this one). */
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), ...args, '--server', server!.url],
        { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
  const results = (runId: string) => resultsByPair(server!.url, runId);

  beforeAll(async () => {
    if (!up) return;
    config = loadConfig({ env });
    const store = Store.open(storePath(config.home));
    seedHistory(store, t0);
    // The change under test (pr-9, based on main-100), and two more changes for the CLI's exit codes.
    const pr = (at: number, build: string, jobs: SeedJob[]) =>
      seedFinishedRun(store, { at, partner: 'acme', build, baseBuild: 'main-100', status: 'failed', jobs });
    runs.pr = pr(t0 + 60 * MIN, 'pr-9', [
      job('player.seek', 'tv-1', 'failed'),
      job('player.seek', 'tv-2', 'failed'),
      job('epg.grid', 'tv-1', 'failed'),
      job('epg.grid', 'tv-2', 'error'),
      job('login', 'tv-1', 'failed'),
      job('subs', 'tv-2', 'timed-out'),
      job('home', 'tv-2', 'passed'),
    ]);
    runs.tolerable = pr(t0 + 70 * MIN, 'pr-10', [
      job('player.seek', 'tv-1', 'failed'),
      job('login', 'tv-1', 'failed'),
      job('home', 'tv-2', 'passed'),
    ]);
    runs.infra = pr(t0 + 80 * MIN, 'pr-11', [
      job('player.seek', 'tv-1', 'failed'),
      job('home', 'tv-1', 'error'),
    ]);
    store.close();
    server = await startControlPlaneService(config, { port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'labels every failed result new, known, flaky or infrastructure, with its evidence',
    async () => {
      const jobs = await results(runs.pr);
      const label = (k: string) => jobs[k]!.triage?.label;
      // Failed on the base build on this device: known, since the base build's first failing run.
      expect(label('player.seek@tv-1')).toBe('known');
      expect(jobs['player.seek@tv-1']!.triage!.evidence.baseBuild).toMatchObject({
        build: 'main-100',
        runs: 2,
        runsOnDevice: 2,
        failures: 2,
        // A run is dated by its creation (seedFinishedRun: a minute before it finished).
        firstFailure: { at: t0 - MIN },
      });
      expect(jobs['player.seek@tv-1']!.triage!.summary).toMatch(/^known: failed on the base build main-100/);
      // The same test passed on the base build on tv-2: there it is new.
      expect(label('player.seek@tv-2')).toBe('new');
      expect(jobs['player.seek@tv-2']!.triage!.summary).toMatch(
        /no failure of it in the base build main-100's 2 run\(s\) on this device$/,
      );
      // Another partner's failure of epg.grid on tv-1 is not acme's evidence.
      expect(label('epg.grid@tv-1')).toBe('new');
      expect(jobs['epg.grid@tv-1']!.triage!.evidence).toMatchObject({ runs: 4, failures: 0 });
      expect(label('login@tv-1')).toBe('flaky');
      expect(jobs['login@tv-1']!.triage!.evidence.flaky.retried).toBe(1);
      // Failing on this device in its recent runs (on another change's build): known, since its first.
      expect(label('subs@tv-2')).toBe('known');
      expect(jobs['subs@tv-2']!.triage!.evidence.failingSince).toMatchObject({ runs: 2, at: t0 + 29 * MIN });
      expect(label('epg.grid@tv-2')).toBe('infrastructure');
      expect(jobs['home@tv-2']!.triage).toBeNull();
    },
  );

  it.skipIf(!up)('writes the triage as <properties> of the failed JUnit test cases', async () => {
    const xml = await (await fetch(`${server!.url}/api/runs/${runs.pr}/junit`)).text();
    const seekTv1 = xml.slice(xml.indexOf('<testsuite name="tv-1"'));
    const epg = seekTv1.slice(seekTv1.indexOf('<testcase name="epg.grid"'));
    expect(epg.slice(0, epg.indexOf('</testcase>'))).toMatch(
      /<properties>[\s\S]*<property name="devlab.triage" value="new"\/>[\s\S]*<\/properties>\s*<failure/,
    );
    expect(xml).toContain('<property name="devlab.triage" value="known"/>');
    expect(xml).toContain('<property name="devlab.triage" value="flaky"/>');
    const home = xml.slice(xml.indexOf('<testcase name="home"'));
    expect(home.slice(0, home.indexOf('</testcase>'))).not.toContain('devlab.triage');
  });

  it.skipIf(!up)('`devlab results show` prints each failure with its triage and evidence', async () => {
    const shown = await cli('results', 'show', runs.pr);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(
      /player\.seek on tv-1\n\s+\[known\] known: failed on the base build main-100/,
    );
    expect(shown.stdout).toMatch(/epg\.grid on tv-1\n\s+\[new\] new: likely from this change/);
    expect(shown.stdout).toMatch(/base build main-100: 2 run\(s\) in the history, 2 on this device/);
  });

  it.skipIf(!up)('`--fail-on new` exits 0 only when every test failure is known or flaky', async () => {
    const exit = async (runId: string, ...flags: string[]) =>
      (await cli('run', 'status', runId, ...flags)).status;
    expect(await exit(runs.pr)).toBe(1);
    const pr = await cli('run', 'status', runs.pr, '--fail-on', 'new');
    expect(pr.status).toBe(1);
    expect(pr.stdout).toMatch(/--fail-on new: fails the run: epg\.grid on tv-1: new:/);
    expect(await exit(runs.tolerable)).toBe(1);
    const tolerable = await cli('run', 'status', runs.tolerable, '--fail-on', 'new');
    expect(tolerable.status).toBe(0);
    expect(tolerable.stdout).toMatch(/not failing for login on tv-1: flaky on this device/);
    // What remains after the tolerated failures decides: an infrastructure error is exit 2.
    expect(await exit(runs.infra, '--fail-on', 'new')).toBe(2);
    expect((await cli('run', 'status', runs.pr, '--fail-on', 'some')).stderr).toMatch(
      /expected one of any, new/,
    );
  });

  it.skipIf(!up)(
    'a run still open is triaged from the history as it is, and keeps that triage once it joins it',
    async () => {
      const open = seedFinishedRun(server!.store, {
        at: Date.now(),
        partner: 'acme',
        build: 'pr-12',
        baseBuild: 'main-100',
        status: 'running',
        jobs: [job('epg.grid', 'tv-2', 'failed'), job('player.seek', 'tv-1', 'failed')],
      });
      const live = await results(open);
      expect(live['epg.grid@tv-2']!.triage!.label).toBe('new');
      expect(live['player.seek@tv-1']!.triage!.label).toBe('known');
      // The run finishes (what the control plane's run.finished event makes the history service do).
      server!.store.runs.finish(open, 'failed', Date.now());
      server!.history.revealRun(server!.store.history.runJobs(open));
      expect(await results(open)).toEqual(live);
      // And the history now holds it: the next run's failure of epg.grid on tv-2 is known.
      const next = seedFinishedRun(server!.store, {
        at: Date.now(),
        partner: 'acme',
        build: 'pr-13',
        status: 'running',
        jobs: [job('epg.grid', 'tv-2', 'failed')],
      });
      expect((await results(next))['epg.grid@tv-2']!.triage).toMatchObject({
        label: 'known',
        evidence: { failingSince: { run: open, runs: 1 }, baseBuild: null },
      });
    },
  );

  it.skipIf(!up)('keeps every run\u2019s triage across a restart (snapshot)', async () => {
    const before = await results(runs.pr);
    await server!.close();
    server = await startControlPlaneService(config, { port: 0 });
    expect(server.history.lastLoad.source).toBe('snapshot');
    expect(await results(runs.pr)).toEqual(before);
  });
});
