import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../../devices/device.ts';
import { selectWithinBudget } from '../../../harness/planner/budget.ts';
import { planRun } from '../../../harness/planner/planner.ts';
import { poolKey } from '../../../harness/planner/pools.ts';
import type { Ranker } from '../../../harness/planner/ranker.ts';
import { runRequestSchema } from '../../../harness/protocol/run-request.ts';
import type { TestMeta } from '../../../suites/test-api.ts';

const device = (
  id: string,
  model: string,
  codecs: string[],
  resolution: DeviceRecord['capabilities']['resolution'] = '1080p',
): DeviceRecord => ({
  id,
  name: id,
  driver: 'appium',
  model,
  platform: 'tizen',
  os: 'tizen 7',
  firmware: '7.1',
  capabilities: { codecs, hdr: [], drm: {}, resolution, memoryMb: 2048, input: ['dpad'] },
  host: 'a',
  tags: [],
  settings: {},
});
const test = (id: string, extra: Partial<TestMeta> = {}): TestMeta => ({
  id,
  title: id,
  tags: [],
  component: 'player',
  owner: 'team',
  priority: 1,
  timeoutMs: 30_000,
  retries: 0,
  requires: {},
  ...extra,
});
const ranker = (scores: Record<string, number>): Ranker => ({
  name: 'fixed',
  score: (pairs) =>
    pairs.map((p) => ({
      probability: scores[`${p.testId}@${p.deviceId}`] ?? scores[p.testId] ?? 0,
      reasons: [`r-${p.testId}`],
    })),
});
const durations = (ms: Record<string, number>) => ({
  estimateMs: (t: string, _p: string, f: number) => ms[t] ?? f,
});
let n = 0;
const newId = () => `job-${++n}`;

describe('planRun', () => {
  const devices = [
    device('tv-1', 'QN90', ['h264', 'hevc']),
    device('tv-2', 'QN90', ['h264', 'hevc']),
    device('stick', 'S1', ['h264']),
  ];

  it('targets pools of interchangeable devices and reports tests no device can run, with why', async () => {
    const plan = await planRun({
      request: runRequestSchema.parse({}),
      tests: [
        test('plain'),
        test('hevc', { requires: { codecs: ['hevc'] } }),
        test('av1', { requires: { codecs: ['av1'] } }),
      ],
      devices,
      ranker: ranker({}),
      durations: durations({}),
      newId,
    });
    expect(Object.values(plan.pools).sort()).toEqual([['stick'], ['tv-1', 'tv-2']]);
    expect(poolKey(devices[0]!)).toBe(poolKey(devices[1]!));
    expect(plan.jobs.map((j) => `${j.testId}/${plan.pools[j.pool]!.join('+')}`).sort()).toEqual([
      'hevc/tv-1+tv-2',
      'plain/stick',
      'plain/tv-1+tv-2',
    ]);
    expect(plan.unplanned).toEqual([{ testId: 'av1', reasons: ['needs av1; no selected device has it'] }]);
    expect(plan.jobs[0]).toMatchObject({
      deviceModel: expect.any(String),
      component: 'player',
      timeoutMs: 30_000,
    });
  });

  it('orders by risk, by catalog order (fifo) or longest first (duration)', async () => {
    const tests = [test('a'), test('b'), test('c')];
    const base = {
      tests,
      devices: [devices[2]!],
      newId,
      durations: durations({ a: 1000, b: 9000, c: 5000 }),
    };
    const risk = await planRun({
      ...base,
      request: runRequestSchema.parse({}),
      ranker: ranker({ a: 0.1, b: 0.2, c: 0.9 }),
    });
    expect(risk.jobs.map((j) => j.testId)).toEqual(['c', 'b', 'a']);
    expect(risk.jobs[0]?.reasons).toEqual(['r-c']);
    const fifo = await planRun({
      ...base,
      request: runRequestSchema.parse({ options: { ordering: 'fifo' } }),
      ranker: ranker({ c: 1 }),
    });
    expect(fifo.jobs.map((j) => j.testId)).toEqual(['a', 'b', 'c']);
    const longest = await planRun({
      ...base,
      request: runRequestSchema.parse({ options: { ordering: 'duration' } }),
      ranker: ranker({}),
    });
    expect(longest.jobs.map((j) => j.testId)).toEqual(['b', 'c', 'a']);
  });

  it('within a time budget keeps the most risk per second and records what was skipped and why', async () => {
    const plan = await planRun({
      request: runRequestSchema.parse({ options: { budgetS: 10 } }),
      tests: [test('cheap-risky'), test('slow-risky'), test('cheap-safe')],
      devices: [devices[2]!],
      ranker: ranker({ 'cheap-risky': 0.5, 'slow-risky': 0.6, 'cheap-safe': 0.01 }),
      durations: durations({ 'cheap-risky': 2000, 'slow-risky': 9000, 'cheap-safe': 2000 }),
      newId,
    });
    const run = plan.jobs.filter((j) => !j.skipReason).map((j) => j.testId);
    const skipped = plan.jobs.filter((j) => j.skipReason);
    expect(run).toEqual(['cheap-risky', 'cheap-safe']);
    expect(skipped.map((j) => j.testId)).toEqual(['slow-risky']);
    expect(skipped[0]?.skipReason).toMatch(/time budget 10 s: needs ~9 s with 8 s left/);
    expect(plan.budget).toEqual({ budgetS: 10, selectedS: 4, skippedJobs: 1 });
  });

  it('honours a run-wide retries override', async () => {
    const plan = await planRun({
      request: runRequestSchema.parse({ options: { retries: 3 } }),
      tests: [test('x', { retries: 1 })],
      devices: [devices[2]!],
      ranker: ranker({}),
      durations: durations({}),
      newId,
    });
    expect(plan.jobs[0]?.maxRetries).toBe(3);
  });
});

describe('selectWithinBudget', () => {
  it('never exceeds the budget', async () => {
    const candidates = Array.from({ length: 200 }, (_, i) => ({
      score: ((i * 37) % 100) / 100,
      estDurationMs: 500 + ((i * 53) % 4000),
    }));
    const { selected, skipped, selectedMs } = selectWithinBudget(candidates, 60_000);
    expect(selectedMs).toBeLessThanOrEqual(60_000);
    expect(selected.reduce((s, c) => s + c.estDurationMs, 0)).toBe(selectedMs);
    expect(selected.length + skipped.length).toBe(200);
  });
});
