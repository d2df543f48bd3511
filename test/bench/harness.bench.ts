import { isRunOver } from '../../harness/store/runs-repo.ts';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { DeviceRecord } from '../../devices/device.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { HistoryState } from '../../analysis/features/state.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import { historyRanker } from '../../harness/history/history-ranker.ts';
import { historyRows } from '../../harness/history/history-rows.ts';
import { planRun } from '../../harness/planner/planner.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import type { FinishedJob } from '../../harness/store/history-repo.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { startLabHarness, waitForRun } from '../support/lab-harness.ts';
import { REDIS_URL } from '../support/services.ts';
import { makespanBenchmark, rng } from './makespan.ts';
import { instantRegistry, noopInventory, noopTests } from './noop-lab.ts';
import type { NoopProcessSpec } from './noop-processes.ts';
import type { BenchResult } from './bench-result.ts';

const NOOP_PROCESS = path.join(PROJECT_ROOT, 'test/bench/noop-processes.ts');

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
        partner: 'default',
        pool: d.id,
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
  const state = new HistoryState();
  for (const cycle of groupCycles(historyRows(history))) state.update(cycle);
  const ranker = historyRanker({ state }, null);
  const buildMs = performance.now() - t0;
  const t1 = performance.now();
  const plan = await planRun({
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
    { name: 'harness: ranking state built from 10,000 history rows', value: buildMs, unit: 'ms' },
  ];
}

async function makespan(): Promise<BenchResult[]> {
  const r = await makespanBenchmark();
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

/** The other process of a measurement (see noop-processes.ts); resolves once it is ready. */
async function spawnNoop(spec: NoopProcessSpec): Promise<() => Promise<void>> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
      '--import',
      'tsx',
      NOOP_PROCESS,
      JSON.stringify(spec),
    ],
    {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bench process exited with ${code}`)));
  });
  return async () => {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
}

/** Raw BullMQ: add `jobs` no-op jobs in bulk, a worker (here or in its own process) completes them. */
export async function rawBullmq(jobs: number, concurrency: number, separate: boolean): Promise<number> {
  const connection = redisConnection(REDIS_URL);
  const name = `bench-raw-${process.pid}-${separate ? 'p' : 'i'}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  let stop: () => Promise<void>;
  if (separate) {
    stop = await spawnNoop({ kind: 'raw', redisUrl: REDIS_URL, queue: name, concurrency });
  } else {
    const worker = new Worker(name, async () => {}, { connection, concurrency });
    await worker.waitUntilReady();
    stop = () => worker.close();
  }
  let done = 0;
  let finish: () => void = () => {};
  const all = new Promise<void>((r) => (finish = r));
  events.on('completed', () => {
    if (++done === jobs) finish();
  });
  const t0 = performance.now();
  await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i } })));
  await all;
  const perS = jobs / ((performance.now() - t0) / 1000);
  await stop();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return perS;
}

/** The whole harness (plan, queue, lease, run, report, store): agent in this process or its own. */
export async function harnessNoop(jobs: number, devices: number, separate: boolean): Promise<number> {
  const perDevice = Math.ceil(jobs / devices);
  const host = 'bench-agent';
  const lab = await startLabHarness({
    inventory: noopInventory(devices, host),
    tests: noopTests(perDevice),
    registry: instantRegistry(),
    agentIds: separate ? [] : [host],
    appUrl: 'http://127.0.0.1:9/',
    deferAgents: true,
    maxSessions: devices,
  });
  const stop = separate
    ? await spawnNoop({
        kind: 'agent',
        redisUrl: REDIS_URL,
        prefix: lab.keys.queuePrefix,
        apiUrl: lab.apiUrl,
        devices,
        tests: perDevice,
        host,
      })
    : null;
  // The end is the run's finished event (as the raw side ends on its last 'completed' event), not a poll.
  let runId = '';
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const off = lab.controlPlane.events.subscribe((e) => {
    if (e.type === 'run.finished' && e.runId === runId) finish();
  });
  const t0 = performance.now();
  const { run } = await lab.controlPlane.submit({ query: '', options: { ordering: 'fifo' } });
  runId = run.id;
  if (isRunOver(run.status)) finish();
  await lab.startAgents();
  await Promise.race([finished, waitForRun(lab.store, run.id, 600_000)]);
  off();
  const perS = (perDevice * devices) / ((performance.now() - t0) / 1000);
  await stop?.();
  await lab.close();
  return perS;
}

/**
 * No-op jobs through the whole harness vs raw BullMQ on the same Redis, in two shapes: everything in
 * one process, and as deployed (the control plane here, the agent or raw worker in its own process).
 * Each shape is measured `rounds` times, alternating raw and harness so that drifts of a shared machine
 * hit both alike; the medians are compared.
 */
export async function throughput(jobs = 4000, devices = 8, rounds = 5): Promise<BenchResult[]> {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows: BenchResult[] = [];
  for (const separate of [true, false]) {
    const raw: number[] = [];
    const harness: number[] = [];
    for (let round = 0; round < rounds; round++) {
      raw.push(await rawBullmq(jobs, devices, separate));
      harness.push(await harnessNoop(jobs, devices, separate));
    }
    const shape = separate ? 'agent in its own process (as deployed)' : 'one process';
    rows.push(
      {
        name: `harness: no-op jobs/s, ${jobs} jobs on ${devices} devices, ${shape}, median of ${rounds}`,
        value: median(harness),
        unit: 'jobs/s',
        baseline: median(raw),
      },
      {
        name: `harness: the same / raw BullMQ (${harness.map(Math.round).join(', ')} vs ${raw.map(Math.round).join(', ')})`,
        value: median(harness) / median(raw),
        unit: '×',
        // The goal is for the harness as it runs (`devlab server` and `devlab agent` are separate
        // processes); in one process the figure shows the harness's own JavaScript on one event loop.
        goal: separate ? '≥ 0.5 (raw BullMQ in the same shape)' : 'for reference (not how devlab runs)',
      },
    );
  }
  return rows;
}

export async function benchHarness(): Promise<BenchResult[]> {
  return [...(await planAndRank()), ...(await makespan()), ...(await throughput())];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await benchHarness()) console.log(r);
  process.exit(0);
}
