import { randomUUID } from 'node:crypto';
import type { DeviceRecord } from '../../devices/device.ts';
import { explainIneligible, isEligible } from '../../suites/requirements.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import type { RunRequest } from '../protocol/run-request.ts';
import { selectWithinBudget } from './budget.ts';
import { groupPools } from './pools.ts';
import type { DurationEstimator, Ranker, RankPair } from './ranker.ts';

export interface PlannedJob {
  jobId: string;
  testId: string;
  pool: string;
  /** The pool's model, firmware and platform, and the test's component: history is keyed by them. */
  deviceModel: string;
  deviceFirmware: string;
  devicePlatform: string;
  component: string;
  /** Position in execution order, 0 first. */
  seq: number;
  score: number;
  reasons: string[];
  estDurationMs: number;
  maxRetries: number;
  timeoutMs: number;
  /** Set when the job is planned but not run (time budget). */
  skipReason?: string;
}

export interface Plan {
  jobs: PlannedJob[];
  /** Pool → device ids. */
  pools: Record<string, string[]>;
  /** Tests that no selected device can run, and why. */
  unplanned: { testId: string; reasons: string[] }[];
  ranker: string;
  budget?: { budgetS: number; selectedS: number; skippedJobs: number };
}

export interface PlanInput {
  request: RunRequest;
  /** Tests selected by the request's query, in catalog order. */
  tests: readonly TestMeta[];
  /** Devices selected by the request's selector that may take work (not blocked or draining). */
  devices: readonly DeviceRecord[];
  ranker: Ranker;
  durations: DurationEstimator;
  newId?: () => string;
}

/** Default run-time guess for a test never seen: a tenth of its timeout, at least a second. */
function fallbackDuration(test: TestMeta): number {
  return Math.max(1000, Math.round(test.timeoutMs / 10));
}

/**
 * Expands a run request into jobs: every test × every pool whose devices satisfy its requirements,
 * scored by the ranker, cut to the time budget, and put in the requested order.
 */
export function planRun(input: PlanInput): Plan {
  const { request, tests, devices, ranker, durations } = input;
  const newId = input.newId ?? randomUUID;
  const pools = groupPools(devices);
  const poolList = [...pools.entries()];
  const unplanned: Plan['unplanned'] = [];
  const candidates: { test: TestMeta; pool: string; device: DeviceRecord; order: number }[] = [];

  tests.forEach((test, testIndex) => {
    let any = false;
    poolList.forEach(([pool, members], poolIndex) => {
      const representative = members[0]!;
      if (!isEligible(test, representative)) return;
      any = true;
      candidates.push({ test, pool, device: representative, order: testIndex * poolList.length + poolIndex });
    });
    if (!any) unplanned.push({ testId: test.id, reasons: explainIneligible(test, devices)?.reasons ?? [] });
  });

  const pairs: RankPair[] = candidates.map(({ test, device }) => ({
    testId: test.id,
    component: test.component,
    deviceId: device.id,
    model: device.model,
    firmware: device.firmware,
    platform: device.platform,
  }));
  const scores = ranker.score(pairs, { changedComponents: request.options.changedComponents });
  const retries = request.options.retries;
  const scored = candidates.map((c, i) => ({
    ...c,
    score: scores[i]?.probability ?? 0,
    reasons: scores[i]?.reasons ?? [],
    estDurationMs: durations.estimateMs(c.test.id, c.pool, fallbackDuration(c.test)),
  }));

  const budgetS = request.options.budgetS;
  const { selected, skipped, selectedMs } =
    budgetS === undefined
      ? { selected: scored, skipped: [], selectedMs: 0 }
      : selectWithinBudget(scored, budgetS * 1000);

  const ordering = request.options.ordering;
  selected.sort((a, b) => {
    if (ordering === 'duration') return b.estDurationMs - a.estDurationMs || a.order - b.order;
    if (ordering === 'fifo') return a.order - b.order;
    return (
      b.score - a.score ||
      b.test.priority - a.test.priority ||
      a.estDurationMs - b.estDurationMs ||
      a.order - b.order
    );
  });

  const toJob = (c: (typeof scored)[number], seq: number, skipReason?: string): PlannedJob => ({
    jobId: newId(),
    testId: c.test.id,
    pool: c.pool,
    deviceModel: c.device.model,
    deviceFirmware: c.device.firmware,
    devicePlatform: c.device.platform,
    component: c.test.component,
    seq,
    score: c.score,
    reasons: c.reasons,
    estDurationMs: c.estDurationMs,
    maxRetries: retries ?? c.test.retries,
    timeoutMs: c.test.timeoutMs,
    ...(skipReason ? { skipReason } : {}),
  });
  const jobs = [
    ...selected.map((c, i) => toJob(c, i)),
    ...skipped.map((s, i) => toJob(s.candidate, selected.length + i, s.reason)),
  ];
  return {
    jobs,
    pools: Object.fromEntries(poolList.map(([key, members]) => [key, members.map((d) => d.id)])),
    unplanned,
    ranker: ranker.name,
    ...(budgetS === undefined
      ? {}
      : { budget: { budgetS, selectedS: Math.round(selectedMs / 100) / 10, skippedJobs: skipped.length } }),
  };
}
