import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanPreview } from '../../harness/api/schemas.ts';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { removeTestLab, scanKeys } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

/** The reference catalog and inventory behind the real control plane; no agent: nothing may run. */
describe('previewing a run (POST /api/runs/preview, `run submit --dry-run`) on the real control plane', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-preview-'));
  const prefix = `devlab-preview-${process.pid}`;
  let config: DevlabConfig;
  let server: ControlPlaneService;

  const preview = (body: unknown) =>
    fetch(`${server.url}/api/runs/preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  /** The CLI as its own process; asynchronous, since the control plane it asks lives in this one. */
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), 'run', 'submit', ...args],
        {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            DEVLAB_HOME: home,
            DEVLAB_REDIS_URL: REDIS_URL,
            DEVLAB_REDIS_PREFIX: prefix,
          },
          encoding: 'utf8',
          timeout: 60_000,
        },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    if (!up) return;
    config = loadConfig({
      env: { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: REDIS_URL, DEVLAB_REDIS_PREFIX: prefix },
    });
    server = await startControlPlaneService(config, { port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'answers the plan in risk order with reasons and creates no run and no queued job',
    async () => {
      const res = await preview({ query: 'tag:smoke', options: { changedComponents: ['player'] } });
      expect(res.status).toBe(200);
      const plan = (await res.json()) as PlanPreview;
      // A new lab: no history, so no trusted model; the order is the failure record, then novelty.
      expect(plan.ranker).toBe('failure record, then novelty');
      expect(plan.jobs.length).toBeGreaterThan(3);
      expect(plan.jobs.map((j) => j.seq)).toEqual(plan.jobs.map((_, i) => i));
      for (let i = 1; i < plan.jobs.length; i++)
        expect(plan.jobs[i - 1]!.score).toBeGreaterThanOrEqual(plan.jobs[i]!.score);
      for (const j of plan.jobs) {
        expect(j.devices.length).toBeGreaterThan(0);
        expect(j.reasons).toContain('new test');
        expect(j.skipReason).toBeNull();
      }
      expect(plan.budget).toBeNull();
      // Nothing was created: no run in the store, nothing queued in Redis.
      expect(server.store.runs.list({ limit: 10 })).toEqual([]);
      const redis = redisConnection(REDIS_URL);
      try {
        expect(await scanKeys(redis, `${prefix}*:wait`)).toEqual([]);
        expect(await scanKeys(redis, `${prefix}*:prioritized`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
    },
  );

  it.skipIf(!up)(
    'a catastrophic regex in the query or the selector holds nobody up: the preview and /api/health both answer',
    async () => {
      // With a backtracking engine `(.|.){1,22}Z` over the catalog's titles held the event loop 13 s.
      const evil = '/(.|.){1,22}Z/';
      const order: string[] = [];
      const running = Promise.all([
        preview({ query: `title:${evil}`, select: `name:${evil}` }).then(async (res) => {
          order.push('preview');
          return { status: res.status, body: (await res.json()) as PlanPreview & { error?: string } };
        }),
        preview({ query: `title:${evil} or tag:smoke` }).then(async (res) => {
          order.push('preview');
          return { status: res.status, body: (await res.json()) as PlanPreview & { error?: string } };
        }),
      ]);
      const health = await fetch(`${server.url}/api/health`);
      order.push('health');
      expect(health.status).toBe(200);
      const [none, smoke] = await running;
      // Matched at once: no title ends in Z, so no test matched (422); smoke tests are still planned.
      expect(none.status).toBe(422);
      expect(none.body.error).toBe(`no test matched the query 'title:${evil}'`);
      expect(smoke.status).toBe(200);
      expect(smoke.body.jobs.length).toBeGreaterThan(0);
      expect(order).toHaveLength(3);
    },
    10_000,
  );

  it.skipIf(!up)('applies the time budget and says what it would leave out', async () => {
    const plan = (await (
      await preview({ query: 'tag:smoke', options: { budgetS: 1 } })
    ).json()) as PlanPreview;
    expect(plan.budget?.budgetS).toBe(1);
    expect(plan.budget!.skippedJobs).toBeGreaterThan(0);
    expect(plan.jobs.filter((j) => j.skipReason !== null)).toHaveLength(plan.budget!.skippedJobs);
  });

  it.skipIf(!up)(
    'a bad query is a 400 naming the field, line, column and a caret, as for a real run',
    async () => {
      const res = await preview({ query: 'tag:smoke and (' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        field: 'query',
        error: 'query: expected a field name, found the end of the query at line 1, column 16',
        detail: 'tag:smoke and (\n               ^',
      });
      expect(server.store.runs.list({ limit: 10 })).toEqual([]);
    },
  );

  it.skipIf(!up)('`devlab run submit --dry-run` prints the plan, numbered with risk and reason', async () => {
    const out = await cli('--server', server.url, '-q', 'tag:smoke', '--dry-run');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(
      /^plan: \d+ job\(s\) ordered by failure record, then novelty \(dry run: nothing was queued\)/,
    );
    expect(out.stdout).toMatch(
      /\n {2}1\. \S+ on \S+ — risk 0\.\d\d \(new (test|device|firmware)[^)]*\), ~\d+ s\n/,
    );
    const json = await cli('--server', server.url, '-q', 'tag:smoke', '--dry-run', '--json');
    expect((JSON.parse(json.stdout) as PlanPreview).jobs.length).toBeGreaterThan(3);
    const both = await cli('--server', server.url, '-q', 'tag:smoke', '--dry-run', '--wait');
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/--dry-run creates no run to --wait for/);
    expect(server.store.runs.list({ limit: 10 })).toEqual([]);
  });
});
