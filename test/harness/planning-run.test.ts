import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { type LabKeys, labKeys, poolQueueName } from '../../harness/queue/names.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { ControlPlane } from '../../harness/server/control-plane.ts';
import { Store } from '../../harness/store/store.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { fixedDurations, tableRanker } from '../support/lab-harness.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { plannedJob } from '../support/seed-history.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

const up = await requireService('Redis', redisUp);

const tests: TestMeta[] = Array.from({ length: 2300 }, (_, i) => ({
  id: `big.t${i}`,
  title: `t${i}`,
  tags: [],
  component: 'player',
  owner: 'o',
  priority: 1,
  timeoutMs: 60_000,
  retries: 0,
  requires: {},
}));
const devices: DeviceRecord[] = ['M1', 'M2'].map((model) => ({
  id: `tv-${model}`,
  name: model,
  driver: 'appium',
  model,
  platform: 'tizen',
  os: 'tizen 7',
  firmware: '7.1',
  capabilities: { codecs: [], hdr: [], drm: {}, resolution: '1080p', memoryMb: 2048, input: ['dpad'] },
  host: 'a',
  tags: [],
  settings: {},
}));

describe.skipIf(!up)('a big run is written in slices while the control plane stays responsive', () => {
  let home: string;
  let store: Store;
  let redis: Redis;
  let keys: LabKeys;
  const controlPlane = () =>
    new ControlPlane({
      store,
      redis,
      resolveTests: () => tests,
      resolveDevices: () => devices,
      ranker: tableRanker({}),
      durations: fixedDurations,
      keys,
    });

  beforeAll(() => {
    home = mkdtempSync(path.join(tmpdir(), 'devlab-planning-'));
    store = Store.open(path.join(home, 'devlab.db'));
    redis = redisConnection(REDIS_URL);
    keys = labKeys(`devlab-planning-${process.pid}`);
  });
  afterAll(async () => {
    redis.disconnect();
    store.close();
    await removeTestLab(keys.queuePrefix, home, up);
  });

  it('queues every job of a 4,600-job run, and the event loop turns while its jobs are written', async () => {
    const cp = controlPlane();
    await cp.start();
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const { run, plan } = await cp.submit({});
    clearInterval(ticker);
    await cp.queued(run.id);
    expect(plan.jobs).toHaveLength(4600);
    expect(run.status).toBe('queued');
    expect(store.jobs.listByRun(run.id)).toHaveLength(4600);
    // Two slices of writes with the event loop free between them (a timer ran meanwhile).
    expect(turns).toBeGreaterThan(0);
    let queued = 0;
    for (const pool of Object.keys(plan.pools)) {
      const queue = new Queue(poolQueueName(pool), { connection: redis, prefix: keys.queuePrefix });
      queued += await queue.getJobCountByTypes('prioritized', 'waiting');
      await queue.close();
    }
    expect(queued).toBe(4600);
    await cp.stop();
  });

  it('removes at start a run a dead control plane left half written, and nothing of it is queued', async () => {
    const request = runRequestSchema.parse({});
    store.runs.insert({ id: 'run-half', request, createdAt: Date.now(), status: 'planning' });
    store.jobs.insertMany(
      [{ ...plannedJob('run-half', 0, 'big.t0', 'tv-M1'), id: 'job-half-1' }],
      Date.now(),
    );
    expect(store.runs.get('run-half')?.status).toBe('planning');
    const cp = controlPlane();
    await cp.start();
    expect(store.runs.get('run-half')).toBeUndefined();
    expect(store.jobs.get('job-half-1')).toBeUndefined();
    await cp.stop();
  });
});
