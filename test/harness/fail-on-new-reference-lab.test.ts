import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, parseDocument, type YAMLSeq } from 'yaml';
import { DEFAULT_INVENTORY } from '../../devices/inventory/load.ts';
import type { JobView } from '../../harness/api/schemas.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { type DevlabProcess, spawnDevlab } from '../support/agent-process.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { resultsByPair } from '../support/run-results.ts';
import { CHROMIUM, dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';

/**
 * The reference lab's fastest devices that fail deterministically: the desktop browser (no HEVC: the
 * reference app's defect D1 fails `app.playback.hevc-title-fallback`) and the two set-top-box containers
 * (R2 lite has 512 MB, firmware 1.9.4 and Widevine L3: its media and DRM conformance checks fail).
 */
const DEVICES = ['web-desktop', 'stb-ref-r1', 'stb-ref-r2-lite'];
const SELECT = `id in [${DEVICES.join(', ')}]`;
const TESTS = ['app.playback.hevc-title-fallback', 'stb.conformance.media', 'stb.conformance.boot'];
const query = (tests: string[]) => `id in [${tests.join(', ')}]`;

/** The config of the repository under test: the inventory, and which paths belong to which component. */
const CONFIG = `inventory: inventory.yaml
components:
  player: ['app/player/**']
  platform-drm: ['platform/drm/**']
`;

interface Submitted {
  code: number | null;
  output: string;
  runId: string;
}

/** The reference inventory with only `ids` (its own YAML, templates and all). */
function inventorySubset(ids: readonly string[]): string {
  const doc = parseDocument(readFileSync(DEFAULT_INVENTORY, 'utf8'));
  const devices = doc.get('devices') as YAMLSeq;
  devices.items = devices.items.filter((item) => isMap(item) && ids.includes(String(item.get('id'))));
  return doc.toString();
}

/** A JUnit test case's properties by name: `suite` is the device, `name` the test id. */
function junitProperties(xml: string, suite: string, name: string): Record<string, string> | undefined {
  const parser = new XMLParser({
    ignoreAttributes: false,
    isArray: (tag) => ['testsuite', 'testcase', 'property'].includes(tag),
  });
  type Props = { properties?: { property: { '@_name': string; '@_value': string }[] } };
  const parsed = parser.parse(xml) as {
    testsuites: { testsuite: ({ '@_name': string; testcase: ({ '@_name': string } & Props)[] } & Props)[] };
  };
  const testcase = parsed.testsuites.testsuite
    .find((s) => s['@_name'] === suite)
    ?.testcase.find((c) => c['@_name'] === name);
  if (!testcase) return undefined;
  return Object.fromEntries((testcase.properties?.property ?? []).map((p) => [p['@_name'], p['@_value']]));
}

describe('failure triage and `--fail-on new` on the reference lab (real agents, browser and containers)', async () => {
  const up =
    (await requireService('Redis', redisUp)) &&
    (await requireService('Docker engine', dockerUp)) &&
    (await requireService('Chromium', async () => existsSync(CHROMIUM)));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fail-on-new-'));
  const home = path.join(dir, 'home');
  const prefix = `devlab-fail-on-new-${process.pid}`;
  const env: Record<string, string> = {
    DEVLAB_CONFIG: path.join(dir, 'devlab.config.yaml'),
    DEVLAB_HOME: home,
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: prefix,
    DEVLAB_LOG_LEVEL: 'warn',
    // Emulated devices share this host's cores: one session per agent, as in `devlab demo`.
    DEVLAB_MAX_SESSIONS: '1',
  };
  const processes: DevlabProcess[] = [];
  let server: ControlPlaneService | null = null;
  const runs: Record<'base' | 'known' | 'new', string> = { base: '', known: '', new: '' };

  /** `devlab run submit ... --wait` as CI runs it, in its own process; resolves with its exit code. */
  const submit = async (args: string[]): Promise<Submitted> => {
    const cli = await spawnDevlab(
      'run',
      ['submit', '-s', SELECT, '--retries', '0', '--wait', '--server', server!.url, ...args],
      env,
      { ready: 'job(s) planned', track: (p) => processes.push(p), cwd: dir },
    );
    const code = await new Promise<number | null>((resolve) => {
      if (cli.child.exitCode !== null) resolve(cli.child.exitCode);
      else cli.child.once('exit', (c) => resolve(c));
    });
    const runId = /run (\S+): \d+ job\(s\) planned/.exec(cli.output())?.[1] ?? '';
    expect(runId, cli.output()).not.toBe('');
    return { code, output: cli.output(), runId };
  };
  /** A short `devlab` command in its own process: its exit code and stdout. */
  const devlab = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), ...args, '--server', server!.url],
        { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
        (err, stdout) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }),
      );
    });
  const results = (runId: string) => resultsByPair(server!.url, runId);
  /** The failed results of a run: every one of them must carry a triage. */
  const failures = (jobs: Record<string, JobView>) =>
    Object.fromEntries(Object.entries(jobs).filter(([, j]) => ['failed', 'timed-out'].includes(j.verdict!)));
  /** The run exited with `code`, and failed on exactly `pairs` (`<test>@<device>`); its failed results. */
  const expectFailed = async (run: Submitted, code: number, pairs: string[]) => {
    expect(run.code, run.output).toBe(code);
    const failed = failures(await results(run.runId));
    expect(Object.keys(failed).sort()).toEqual(pairs);
    return failed;
  };

  beforeAll(async () => {
    if (!up) return;
    writeFileSync(env['DEVLAB_CONFIG']!, CONFIG);
    const inventoryFile = path.join(dir, 'inventory.yaml');
    writeFileSync(inventoryFile, inventorySubset(DEVICES));
    const config = loadConfig({ env: { ...process.env, ...env } });
    server = await startControlPlaneService(config, { port: 0, inventoryFile });
    for (const host of ['agent-a', 'agent-b'])
      await spawnDevlab('agent', ['--host', host, '--server', server.url], env, {
        ready: 'devlab agent ',
        startTimeoutMs: 90_000,
        track: (p) => processes.push(p),
      });
  });
  afterAll(async () => {
    for (const p of processes) await p.stop();
    await server?.close();
    await removeTestLab(prefix, home, up);
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!up)(
    'a first run on build main-1 fails on its devices, each failure new: the lab knew nothing of them',
    { timeout: 120_000 },
    async () => {
      const run = await submit(['-q', query(TESTS), '--build', 'main-1', '--fail-on', 'new']);
      runs.base = run.runId;
      const failed = await expectFailed(run, 1, [
        'app.playback.hevc-title-fallback@web-desktop',
        'stb.conformance.media@stb-ref-r2-lite',
      ]);
      for (const j of Object.values(failed)) {
        expect(j.triage?.label).toBe('new');
        expect(j.triage?.summary).toBe('new: first run of this test on this device');
      }
      expect(run.output).toMatch(
        /--fail-on new: fails the run: stb\.conformance\.media on stb-ref-r2-lite: new: first run/,
      );
    },
  );

  it.skipIf(!up)(
    'a change to the player on build pr-1 (base main-1): only known failures, each with its evidence; exit 0',
    { timeout: 120_000 },
    async () => {
      const junit = path.join(dir, 'pr-1.xml');
      const run = await submit([
        ...['-q', query(TESTS), '--build', 'pr-1', '--base-build', 'main-1'],
        ...['--changed-paths', 'app/player/stream-select.js', '--fail-on', 'new', '--junit', junit],
      ]);
      runs.known = run.runId;
      const failed = await expectFailed(run, 0, [
        'app.playback.hevc-title-fallback@web-desktop',
        'stb.conformance.media@stb-ref-r2-lite',
      ]);
      const view = (await (await fetch(`${server!.url}/api/runs/${run.runId}`)).json()) as {
        status: string;
        request: { baseBuild?: string; change?: { changedPaths?: string[]; components?: string[] } };
      };
      // The run failed, and says what it was: a change of the player on main-1.
      expect(view.status).toBe('failed');
      expect(view.request.baseBuild).toBe('main-1');
      expect(view.request.change).toEqual({
        changedPaths: ['app/player/stream-select.js'],
        components: ['player'],
      });

      for (const [pair, j] of Object.entries(failed)) {
        expect(j.triage, pair).toMatchObject({
          label: 'known',
          evidence: {
            runs: 1,
            failures: 1,
            lastRun: { run: runs.base, verdict: 'fail' },
            failingSince: { run: runs.base, runs: 1 },
            baseBuild: {
              build: 'main-1',
              runs: 1,
              runsOnDevice: 1,
              failures: 1,
              firstFailure: { run: runs.base },
            },
          },
        });
        expect(j.triage!.summary).toMatch(
          new RegExp(
            `^known: failed on the base build main-1 on this device 1 time\\(s\\) since .* \\(run ${runs.base}\\)$`,
          ),
        );
        expect(run.output).toContain(`--fail-on new: not failing for ${pair.replace('@', ' on ')}: known:`);
      }
      // Without --fail-on new the same run fails CI; `results show` prints each failure's evidence.
      expect((await devlab('run', 'status', run.runId)).code).toBe(1);
      const shown = await devlab('results', 'show', run.runId);
      expect(shown.code).toBe(0);
      // Each failure, its own failed cases, then its triage and the evidence it rests on.
      expect(shown.stdout).toMatch(
        /stb\.conformance\.media on stb-ref-r2-lite: 1 of 2 cases did not pass:\n.*uhd-buffer-memory.*\n\s+\[known\] known: failed on the base build main-1/,
      );
      expect(shown.stdout).toContain(`last run ${runs.base}`);
      expect(shown.stdout).toContain(
        'base build main-1: 1 run(s) in the history, 1 on this device, 1 failure(s) of this test here',
      );
      // What passed has no triage.
      expect((await results(run.runId))['stb.conformance.media@stb-ref-r1']!.triage).toBeNull();

      // The JUnit report CI keeps says the same, per failed test case of its device's suite.
      const xml = readFileSync(junit, 'utf8');
      expect(junitProperties(xml, 'stb-ref-r2-lite', 'stb.conformance.media')).toMatchObject({
        'devlab.triage': 'known',
        'devlab.triage.summary': failed['stb.conformance.media@stb-ref-r2-lite']!.triage!.summary,
        'devlab.triage.last-run': `${runs.base} fail`,
        'devlab.triage.base-build': 'main-1: 1 failure(s) on this device',
      });
      expect(junitProperties(xml, 'web-desktop', 'app.playback.hevc-title-fallback')).toMatchObject({
        'devlab.triage': 'known',
      });
      expect(junitProperties(xml, 'stb-ref-r1', 'stb.conformance.media')).toEqual({});
    },
  );

  it.skipIf(!up)(
    'a change to DRM on build pr-2 (base main-1) that fails a test for the first time: new, exit 1',
    { timeout: 120_000 },
    async () => {
      const run = await submit([
        ...['-q', query([...TESTS, 'stb.conformance.drm']), '--build', 'pr-2', '--base-build', 'main-1'],
        ...['--changed-paths', 'platform/drm/widevine.c', '--fail-on', 'new'],
      ]);
      runs.new = run.runId;
      const failed = await expectFailed(run, 1, [
        'app.playback.hevc-title-fallback@web-desktop',
        'stb.conformance.drm@stb-ref-r2-lite',
        'stb.conformance.media@stb-ref-r2-lite',
      ]);
      // DRM conformance never ran on R2 lite: nothing earlier explains its failure.
      expect(failed['stb.conformance.drm@stb-ref-r2-lite']!.triage).toMatchObject({
        label: 'new',
        evidence: { runs: 0, failures: 0, lastFailure: null, baseBuild: { build: 'main-1', failures: 0 } },
      });
      // The player's failure is known from the base build, and failing since run 1: two runs in a row.
      expect(failed['app.playback.hevc-title-fallback@web-desktop']!.triage).toMatchObject({
        label: 'known',
        evidence: { runs: 2, failures: 2, failingSince: { run: runs.base, runs: 2 } },
      });
      expect(failed['stb.conformance.media@stb-ref-r2-lite']!.triage!.label).toBe('known');
      // It says what the history holds: the base build ran on R2 lite, but never this test.
      expect(run.output).toContain(
        '--fail-on new: fails the run: stb.conformance.drm on stb-ref-r2-lite: new: first run of this test on this device; the base build main-1 ran on this device 1 time(s), never this test',
      );
      expect(run.output).toMatch(
        /--fail-on new: not failing for stb\.conformance\.media on stb-ref-r2-lite: known:/,
      );
    },
  );
});
