import type { DeviceRecord } from '../../devices/device.ts';
import { planRun } from '../../harness/planner/planner.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import type { TestMeta } from '../../suites/test-api.ts';

/** Deterministic pseudo-random numbers (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const CLASSES = [
  { model: 'tv-4k', codecs: ['h264', 'hevc', 'av1'], resolution: '2160p' as const, count: 4 },
  { model: 'stick-hd', codecs: ['h264', 'hevc'], resolution: '1080p' as const, count: 5 },
  { model: 'stb-720', codecs: ['h264'], resolution: '720p' as const, count: 3 },
];

function devices(): DeviceRecord[] {
  return CLASSES.flatMap((c) =>
    Array.from({ length: c.count }, (_, i) => ({
      id: `${c.model}-${i}`,
      name: `${c.model}-${i}`,
      driver: 'appium' as const,
      model: c.model,
      platform: 'sim',
      os: 'sim',
      firmware: '1',
      capabilities: {
        codecs: c.codecs,
        hdr: [],
        drm: {},
        resolution: c.resolution,
        memoryMb: 2048,
        input: ['dpad' as const],
      },
      host: 'sim',
      tags: [],
      settings: {},
    })),
  );
}

/** Mixed tests: most run everywhere, some need hevc or av1; durations heavy-tailed from 2 s to 3 min. */
function tests(count: number, random: () => number): { meta: TestMeta; durationMs: number }[] {
  return Array.from({ length: count }, (_, i) => {
    const r = random();
    const codecs = r < 0.2 ? ['av1'] : r < 0.45 ? ['hevc'] : [];
    const durationMs = Math.round(2000 + 178_000 * random() ** 3);
    return {
      meta: {
        id: `t${i}`,
        title: `t${i}`,
        tags: [],
        component: 'c',
        owner: 'o',
        priority: 1,
        timeoutMs: 600_000,
        retries: 0,
        requires: codecs.length ? { codecs } : {},
      },
      durationMs,
    };
  });
}

/**
 * Event simulation of the harness's dispatch: every device pulls the next job of its pool queue in
 * queue-priority order (the plan's order) the moment it is free. Returns the makespan.
 */
function simulate(order: { pool: string; durationMs: number }[], pools: Record<string, string[]>): number {
  const queues = new Map<string, number[]>();
  for (const job of order) {
    const q = queues.get(job.pool) ?? [];
    q.push(job.durationMs);
    queues.set(job.pool, q);
  }
  let makespan = 0;
  for (const [pool, durations] of queues) {
    const free = (pools[pool] ?? []).map(() => 0);
    for (const d of durations) {
      let best = 0;
      for (let i = 1; i < free.length; i++) if (free[i]! < free[best]!) best = i;
      free[best]! += d;
    }
    makespan = Math.max(makespan, ...free);
  }
  return makespan;
}

export interface MakespanResult {
  jobs: number;
  devices: number;
  lowerBoundMs: number;
  harnessMs: number;
  fifoMs: number;
}

/** A mixed plan of ~2,000 jobs on 12 simulated devices, ordered by the planner ('duration') and naive FIFO. */
export async function makespanBenchmark(seed = 7): Promise<MakespanResult> {
  const random = rng(seed);
  const lab = devices();
  const catalog = tests(860, random);
  const duration = new Map(catalog.map((t) => [t.meta.id, t.durationMs]));
  const plan = (ordering: 'duration' | 'fifo') =>
    planRun({
      request: runRequestSchema.parse({ options: { ordering } }),
      tests: catalog.map((t) => t.meta),
      devices: lab,
      ranker: { name: 'none', score: (pairs) => pairs.map(() => ({ probability: 0, reasons: [] })) },
      durations: { estimateMs: (testId) => duration.get(testId)! },
    });
  const byDuration = await plan('duration');
  const fifo = await plan('fifo');
  const jobs = (p: typeof byDuration) =>
    p.jobs.map((j) => ({ pool: j.pool, durationMs: duration.get(j.testId)! }));
  // Lower bound: per device class, its work spread evenly over its devices, or the longest job.
  let lowerBoundMs = 0;
  for (const [pool, members] of Object.entries(byDuration.pools)) {
    const work = byDuration.jobs.filter((j) => j.pool === pool).map((j) => duration.get(j.testId)!);
    lowerBoundMs = Math.max(lowerBoundMs, work.reduce((a, b) => a + b, 0) / members.length, ...work);
  }
  return {
    jobs: byDuration.jobs.length,
    devices: lab.length,
    lowerBoundMs,
    harnessMs: simulate(jobs(byDuration), byDuration.pools),
    fifoMs: simulate(jobs(fifo), fifo.pools),
  };
}
