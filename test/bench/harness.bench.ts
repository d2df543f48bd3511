import { pathToFileURL } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { z } from 'zod';
import type { DeviceRecord } from '../../devices/device.ts';
import { type DeviceDriver, DriverRegistry, type Session } from '../../devices/driver.ts';
import { analysisRanker } from '../../harness/lab/analysis-ranker.ts';
import { planRun } from '../../harness/planner/planner.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import type { FinishedJob } from '../../harness/store/history-repo.ts';
import { defineTest } from '../../suites/define-test.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { startLabHarness, waitForRun } from '../support/lab-harness.ts';
import { REDIS_URL } from '../support/services.ts';
import { makespanBenchmark, rng } from './makespan.ts';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  goal?: string;
}

/** Plan + rank 100,000 (test, device) pairs: 1,000 tests × 100 devices, scored from 20 runs of history. */
async function planAndRank(): Promise<BenchResult[]> {
  const random = rng(11);
  const devices: DeviceRecord[] = Array.from({ length: 100 }, (_, i) => ({
    id: `dev-${i}`,
    name: `dev-${i}`,
    driver: 'appium',
    model: `model-${i % 25}`,
    platform: 'tv',
    os: 'os',
    firmware: `fw-${i % 4}`,
    capabilities: {
      codecs: ['h264', 'hevc'],
      hdr: [],
      drm: {},
      resolution: '1080p',
      memoryMb: 2048,
      input: ['dpad'],
    },
    host: 'h',
    tags: [],
    settings: {},
  }));
  const tests: TestMeta[] = Array.from({ length: 1000 }, (_, i) => ({
    id: `test-${i}`,
    title: `test ${i}`,
    tags: [],
    component: `comp-${i % 12}`,
    owner: 'o',
    priority: i % 4,
    timeoutMs: 60_000,
    retries: 0,
    requires: {},
  }));
  const history: FinishedJob[] = [];
  for (let run = 0; run < 20; run++) {
    for (const test of tests.slice(0, 500)) {
      const d = devices[Math.floor(random() * devices.length)]!;
      history.push({
        runId: `r${run}`,
        runCreatedAt: run * 3_600_000,
        build: `b${run}`,
        changed: [],
        testId: test.id,
        component: test.component,
        deviceId: d.id,
        model: d.model,
        firmware: d.firmware,
        platform: d.platform,
        verdict: random() < 0.05 ? 'failed' : 'passed',
        durationMs: 1000 + random() * 20_000,
        signature: null,
        finishedAt: run * 3_600_000,
      });
    }
  }
  const t0 = performance.now();
  const ranker = analysisRanker(history, null);
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  const plan = planRun({
    request: runRequestSchema.parse({}),
    tests,
    devices,
    ranker,
    durations: { estimateMs: (_t, _p, f) => f },
  });
  const planMs = performance.now() - t1;
  if (plan.jobs.length !== 100_000) throw new Error(`expected 100,000 jobs, planned ${plan.jobs.length}`);
  return [
    { name: 'harness: plan + rank 100,000 pairs', value: planMs, unit: 'ms', goal: '< 1000 ms' },
    { name: 'harness: ranker built from 10,000 history rows', value: buildMs, unit: 'ms' },
  ];
}

function makespan(): BenchResult[] {
  const r = makespanBenchmark();
  return [
    {
      name: `harness: makespan of ${r.jobs} mixed jobs on ${r.devices} devices / lower bound`,
      value: r.harnessMs / r.lowerBoundMs,
      unit: '×',
      baseline: r.fifoMs / r.lowerBoundMs,
      goal: '≤ 1.05 (baseline: naive FIFO)',
    },
  ];
}

/** A device whose sessions run a body at once: measures the harness, not a device. */
class InstantDriver implements DeviceDriver {
  readonly kind = 'browser' as const;
  readonly settingsSchema = z.unknown();
  async openSession(device: DeviceRecord): Promise<Session> {
    return {
      device,
      run: async (body) => {
        const t = performance.now();
        await body({});
        return { status: 'passed', artifacts: [], durationMs: performance.now() - t };
      },
      captureArtifacts: async () => [],
      reset: async () => {},
      close: async () => {},
    };
  }
}

/** No-op jobs through the whole harness (plan, queue, lease, run, report, store) vs raw BullMQ on the same Redis. */
async function throughput(jobs = 1000, devices = 8): Promise<BenchResult[]> {
  const connection = redisConnection(REDIS_URL);
  const name = `bench-raw-${process.pid}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  let done = 0;
  let finish: () => void = () => {};
  const all = new Promise<void>((r) => (finish = r));
  const worker = new Worker(
    name,
    async () => {
      if (++done === jobs) finish();
    },
    { connection, concurrency: devices },
  );
  await worker.waitUntilReady();
  const t0 = performance.now();
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i } })));
  await all;
  const rawPerS = jobs / ((performance.now() - t0) / 1000);
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();

  const inventory: DeviceRecord[] = Array.from({ length: devices }, (_, i) => ({
    id: `bench-noop-${i}`,
    name: `noop ${i}`,
    driver: 'browser',
    model: `bench-noop-${i}`,
    platform: 'bench',
    os: 'bench',
    firmware: '1',
    capabilities: { codecs: [], hdr: [], drm: {}, resolution: '1080p', memoryMb: 1024, input: ['pointer'] },
    host: 'bench-agent',
    tags: [],
    settings: {},
  }));
  const perDevice = Math.ceil(jobs / devices);
  const tests = Array.from({ length: perDevice }, (_, i) =>
    defineTest(
      { id: `bench.noop-${i}`, title: 'noop', component: 'bench', owner: 'bench', tags: ['noop'] },
      async () => {},
    ),
  );
  const lab = await startLabHarness({
    inventory,
    tests,
    registry: new DriverRegistry().register(new InstantDriver()),
    agentIds: ['bench-agent'],
    appUrl: 'http://127.0.0.1:9/',
    deferAgents: true,
    maxSessions: devices,
  });
  const t1 = performance.now();
  const { run } = await lab.controlPlane.submit({ query: '', options: { ordering: 'fifo' } });
  await lab.startAgents();
  await waitForRun(lab.store, run.id, 600_000);
  const harnessPerS = (perDevice * devices) / ((performance.now() - t1) / 1000);
  await lab.close();
  return [
    {
      name: `harness: no-op jobs/s through the whole harness (${devices} devices)`,
      value: harnessPerS,
      unit: 'jobs/s',
      baseline: rawPerS,
      goal: '≥ 50% of raw BullMQ',
    },
  ];
}

export async function benchHarness(): Promise<BenchResult[]> {
  return [...(await planAndRank()), ...makespan(), ...(await throughput())];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await benchHarness()) console.log(r);
  process.exit(0);
}
