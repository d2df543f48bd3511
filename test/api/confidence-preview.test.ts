import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanPreview } from '../../harness/api/schemas.ts';
import { formatPlanPreview } from '../../harness/cli/plan-preview.ts';
import { loadConfig } from '../../harness/config/config.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { storePath } from '../../harness/store/database.ts';
import { Store } from '../../harness/store/store.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { seedFinishedRun } from '../support/seed-history.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { call } from './authed-api.ts';

const TV = { device: 'tv-4k-hdr', model: 'AUR-65X9' };
const STICK = { device: 'stick-1080p', model: 'STK-HD1' };
const QUERY = 'tag:navigation';
const SELECT = `id:${TV.device} or id:${STICK.device}`;
const FAILING = 'app.navigation.initial-focus';

/**
 * `--confidence` on the real control plane and a real SQLite store: the cut is learned from where the
 * failing jobs of the lab's earlier runs entered their plans' order, kept with the plan, and said in the
 * preview. A lab with too little history keeps every job and says so.
 */
describe('--confidence is calibrated on the lab’s own earlier runs', async () => {
  const up = await requireService('Redis', redisUp);
  const labs: { server: ControlPlaneService; home: string; prefix: string }[] = [];

  const start = async (name: string, seed: (store: Store) => void): Promise<ControlPlaneService> => {
    const home = mkdtempSync(path.join(tmpdir(), `devlab-confidence-${name}-`));
    const prefix = `devlab-confidence-${name}-${process.pid}`;
    const config = loadConfig({
      env: { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: REDIS_URL, DEVLAB_REDIS_PREFIX: prefix },
    });
    const store = Store.open(storePath(config.home));
    seed(store);
    store.close();
    const server = await startControlPlaneService(config, {
      port: 0,
      auth: false,
      agentToken: 'agent-secret',
    });
    labs.push({ server, home, prefix });
    return server;
  };
  let seasoned: ControlPlaneService;
  let fresh: ControlPlaneService;

  beforeAll(async () => {
    if (!up) return;
    // 25 earlier runs in which the job planned as the riskiest per second was the only one to fail.
    seasoned = await start('seasoned', (store) => {
      const now = Date.now();
      for (let r = 0; r < 25; r++)
        seedFinishedRun(store, {
          at: now - (26 - r) * 3600_000,
          jobs: [
            { test: FAILING, ...TV, verdict: 'failed', score: 0.5, estDurationMs: 1000 },
            {
              test: 'app.navigation.right-moves-focus',
              ...TV,
              verdict: 'passed',
              score: 0.1,
              estDurationMs: 1000,
            },
            {
              test: 'app.navigation.row-end-stops',
              ...STICK,
              verdict: 'passed',
              score: 0.1,
              estDurationMs: 1000,
            },
          ],
        });
    });
    fresh = await start('fresh', () => {});
  });
  afterAll(async () => {
    for (const lab of labs) {
      await lab.server.close();
      await removeTestLab(lab.prefix, lab.home, up);
    }
  });

  const preview = async (server: ControlPlaneService): Promise<PlanPreview> => {
    const res = await call(`${server.url}/api/runs/preview`, null, {
      method: 'POST',
      body: { query: QUERY, select: SELECT, options: { confidence: 0.9 } },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as PlanPreview;
  };

  it('cuts where the earlier runs found their failures, and says so', async () => {
    const plan = await preview(seasoned);
    // Every earlier failure entered first (at a predicted recall of 0): the cut is there, whatever 0.9 says.
    expect(plan.confidence).toMatchObject({ confidence: 0.9, calibratedOn: 25, cutAt: expect.any(Number) });
    expect(plan.confidence!.cutAt!).toBeLessThan(0.01);
    const run = plan.jobs.filter((j) => j.skipReason === null);
    expect(run).toHaveLength(1);
    expect(plan.confidence!.skippedJobs).toBe(plan.jobs.length - 1);
    expect(plan.jobs.find((j) => j.skipReason !== null)!.skipReason).toMatch(
      /confidence 0.9: .*learned from 25 failing jobs of earlier runs/,
    );
    expect(formatPlanPreview(plan)).toMatch(
      /confidence 0.9: cut at a predicted recall of 0\.0%, learned from 25 failing jobs of earlier runs; .* s selected, \d+ job\(s\) left out/,
    );
  });

  it('keeps every job on a lab with too little history to learn a cut', async () => {
    const plan = await preview(fresh);
    expect(plan.confidence).toMatchObject({ confidence: 0.9, cutAt: null, calibratedOn: 0, skippedJobs: 0 });
    expect(plan.jobs.every((j) => j.skipReason === null)).toBe(true);
    expect(formatPlanPreview(plan)).toContain(
      'every job runs: 0 failing job(s) in earlier runs, too few to learn a cut',
    );
  });

  it('keeps the cut with a submitted run', async () => {
    const res = await call(`${seasoned.url}/api/runs`, null, {
      method: 'POST',
      body: { query: QUERY, select: SELECT, options: { confidence: 0.9 } },
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const view = (await (await call(`${seasoned.url}/api/runs/${id}`, null)).json()) as {
      plan: { confidence: { calibratedOn: number; cutAt: number } | null };
    };
    expect(view.plan.confidence).toMatchObject({ calibratedOn: 25 });
    await call(`${seasoned.url}/api/runs/${id}/cancel`, null, { method: 'POST' });
  });
});
