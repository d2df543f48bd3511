import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_NO_MATCH } from '../../harness/cli/exit-codes.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { codeTests, makeSuiteDir, removeSuiteDirs } from '../suites/fixtures/suite-dir.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

/**
 * A query or selector that matches nothing is said plainly, with its own exit code; a lab started with
 * --allow-broken plans only for a submit that allows it too. Real control planes on SQLite and Redis.
 */
describe('submitting a run that matches nothing, or to a lab with broken suites', async () => {
  const up = await requireService('Redis', redisUp);
  const homes: string[] = [];
  const prefixes: string[] = [];
  let lab: ControlPlaneService;
  let broken: ControlPlaneService;

  const start = async (name: string, options: Parameters<typeof startControlPlaneService>[1]) => {
    const home = mkdtempSync(path.join(tmpdir(), `devlab-${name}-`));
    const prefix = `devlab-${name}-${process.pid}`;
    homes.push(home);
    prefixes.push(prefix);
    const env = {
      ...process.env,
      DEVLAB_HOME: home,
      DEVLAB_REDIS_URL: REDIS_URL,
      DEVLAB_REDIS_PREFIX: prefix,
    };
    return startControlPlaneService(loadConfig({ env }), { port: 0, ...options });
  };
  const post = (server: ControlPlaneService, route: string, body: unknown) =>
    fetch(`${server.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  /** `devlab run submit` as its own process (the control plane it asks lives in this one). */
  const submit = (server: ControlPlaneService, ...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), 'run', 'submit', '--server', server.url, ...args],
        {
          cwd: PROJECT_ROOT,
          env: { ...process.env, DEVLAB_HOME: homes[0] },
          encoding: 'utf8',
          timeout: 60_000,
        },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    if (!up) return;
    lab = await start('nomatch', {});
    const suites = await makeSuiteDir({
      'ok.test-def.ts': codeTests({ id: 'app.ok', tags: ['smoke'] }),
      'typo.test-def.ts': codeTests({ id: 'app.typo' }).replace("owner: 'qa'", "owner: 'qa', retires: 1"),
    });
    broken = await start('broken', { suites: [suites], allowBroken: true });
  });
  afterAll(async () => {
    await lab?.close();
    await broken?.close();
    for (const [i, home] of homes.entries()) await removeTestLab(prefixes[i]!, home, up);
    await removeSuiteDirs();
  });

  it.skipIf(!up)(
    'the API answers 422 naming the query, with "did you mean", for submit and preview alike',
    async () => {
      for (const route of ['/api/runs', '/api/runs/preview']) {
        const res = await post(lab, route, { query: 'tag:smok' });
        expect(res.status, route).toBe(422);
        expect(await res.json()).toEqual({
          error: "no test matched the query 'tag:smok' (did you mean tag:smoke?)",
          field: 'query',
        });
      }
      const devices = await post(lab, '/api/runs', { query: 'tag:smoke', select: 'platform:tizn' });
      expect(devices.status).toBe(422);
      expect(await devices.json()).toEqual({
        error: "no device matched the selector 'platform:tizn' (did you mean platform:tizen?)",
        field: 'select',
      });
      expect(lab.store.runs.list({ limit: 10 })).toEqual([]);
    },
  );

  it.skipIf(!up)(`run submit --wait says so and exits ${EXIT_NO_MATCH}, as does --dry-run`, async () => {
    const waited = await submit(lab, '--query', 'tag:smok', '--wait');
    expect(waited.status).toBe(EXIT_NO_MATCH);
    expect(waited.stderr).toContain("no test matched the query 'tag:smok' (did you mean tag:smoke?)");
    expect(waited.stdout).not.toContain('queued');
    const dry = await submit(lab, '--query', 'tag:smoke', '--select', 'platform:tizn', '--dry-run');
    expect(dry.status).toBe(EXIT_NO_MATCH);
    expect(dry.stderr).toContain(
      "no device matched the selector 'platform:tizn' (did you mean platform:tizen?)",
    );
    expect(lab.store.runs.list({ limit: 10 })).toEqual([]);
  });

  it.skipIf(!up)(
    'a lab with broken suites refuses a submit (exit 2, file:line:column) unless it says --allow-broken',
    async () => {
      const refused = await submit(broken, '--query', 'tag:smoke', '--dry-run');
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(
        /typo\.test-def\.ts:2:\d+: Invalid test "app\.typo": field retires: unknown field \(did you mean retries\?\)/,
      );
      const allowed = await submit(broken, '--query', 'tag:smoke', '--dry-run', '--allow-broken');
      expect(allowed.status).toBe(0);
      expect(allowed.stdout).toContain('app.ok on');
      expect(allowed.stderr).toMatch(
        /^warning: the lab dropped the tests of .*typo\.test-def\.ts:2:\d+: .*\(--allow-broken\)$/m,
      );
      const res = await post(broken, '/api/runs?allowBroken=true', { query: 'tag:smoke' });
      expect(res.status).toBe(201);
      const run = (await res.json()) as { id: string; droppedSuites: string[] };
      expect(run.droppedSuites).toEqual([expect.stringMatching(/typo\.test-def\.ts:2:\d+: Invalid test/)]);
      await broken.controlPlane.cancel(run.id);
      expect((await post(broken, '/api/runs', { query: 'tag:smoke' })).status).toBe(422);
    },
  );
});
