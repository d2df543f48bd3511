import { setImmediate } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import type { DeviceRecord } from '../../devices/device.ts';
import { explainIneligible, isEligible } from '../../suites/requirements.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { type RunRequest, requestComponents } from '../protocol/run-request.ts';
import { selectForConfidence, selectWithinBudget } from './budget.ts';
import type { PlanConfidence } from './plan-confidence.ts';
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
  confidence?: PlanConfidence;
}

export interface PlanInput {
  request: RunRequest;
  /** Tests selected by the request's query, in catalog order. */
  tests: readonly TestMeta[];
  /** Devices selected by the request's selector that may take work (not blocked or draining). */
  devices: readonly DeviceRecord[];
  ranker: Ranker;
  durations: DurationEstimator;
  /**
   * Whose results the ranking's reasons may reflect (RankContext.historyPartner): by default the
   * request's partner, its own runs only.
   */
  historyPartner?: string;
  newId?: () => string;
}

/** Plans of more pairs than this give the event loop a turn between their stages. */
const YIELD_ABOVE = 2000;
/** Jobs built per turn of the event loop. */
const JOB_SLICE = 5000;

/** Default run-time guess for a test never seen: a tenth of its timeout, at least a second. */
function fallbackDuration(test: TestMeta): number {
  return Math.max(1000, Math.round(test.timeoutMs / 10));
}

/**
 * Expands a run request into jobs: every test × every pool whose devices satisfy its requirements,
 * scored by the ranker, cut to the time budget, and put in the requested order. Works on parallel
 * arrays indexed by candidate, so 100,000 pairs allocate one job object each and little else.
 */
export async function planRun(input: PlanInput): Promise<Plan> {
  const { request, tests, devices, ranker, durations } = input;
  // Time-ordered ids: a new run's jobs go to the end of the store's primary key, not all over it.
  const newId = input.newId ?? uuidv7;
  const poolList = [...groupPools(devices).entries()];
  const unplanned: Plan['unplanned'] = [];
  const testOf: number[] = [];
  const poolOf: number[] = [];

  tests.forEach((test, t) => {
    let any = false;
    for (let p = 0; p < poolList.length; p++) {
      if (!isEligible(test, poolList[p]![1][0]!)) continue;
      any = true;
      testOf.push(t);
      poolOf.push(p);
    }
    if (!any) unplanned.push({ testId: test.id, reasons: explainIneligible(test, devices)?.reasons ?? [] });
  });

  const n = testOf.length;
  const pairs: RankPair[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const test = tests[testOf[i]!]!;
    const device = poolList[poolOf[i]!]![1][0]!;
    pairs[i] = {
      testId: test.id,
      component: test.component,
      deviceId: device.id,
      model: device.model,
      firmware: device.firmware,
      platform: device.platform,
    };
  }
  // Matching tests to pools, scoring, and ordering each get their own turn of the event loop.
  if (n > YIELD_ABOVE) await setImmediate();
  const scores = await ranker.score(pairs, {
    changedComponents: requestComponents(request),
    ...(request.change ? { change: request.change } : {}),
    ...(request.baseBuild ? { baseBuild: request.baseBuild } : {}),
    historyPartner: input.historyPartner ?? request.partner,
  });
  if (n > YIELD_ABOVE) await setImmediate();
  const score = new Float64Array(n);
  const estMs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const test = tests[testOf[i]!]!;
    score[i] = scores[i]?.probability ?? 0;
    estMs[i] = durations.estimateMs(test.id, poolList[poolOf[i]!]![0], fallbackDuration(test));
  }

  const budgetS = request.options.budgetS;
  let selected: number[] = Array.from({ length: n }, (_, i) => i);
  let skipped: { index: number; reason: string }[] = [];
  let selectedMs = 0;
  if (budgetS !== undefined) {
    const cut = selectWithinBudget(
      selected.map((i) => ({ index: i, score: score[i]!, estDurationMs: estMs[i]! })),
      budgetS * 1000,
    );
    selected = cut.selected.map((c) => c.index);
    skipped = cut.skipped.map((s) => ({ index: s.candidate.index, reason: s.reason }));
    selectedMs = cut.selectedMs;
  }
  const confidence = request.options.confidence;
  let confidenceCut: PlanConfidence | undefined;
  if (confidence !== undefined) {
    const learned = ranker.recallCut?.(confidence) ?? null;
    const cut = selectForConfidence(
      selected.map((i) => ({ index: i, score: score[i]!, estDurationMs: estMs[i]! })),
      confidence,
      learned,
    );
    selected = cut.selected.map((c) => c.index);
    skipped = [...skipped, ...cut.skipped.map((s) => ({ index: s.candidate.index, reason: s.reason }))];
    selectedMs = cut.selectedMs;
    confidenceCut = {
      confidence,
      cutAt: Number.isFinite(cut.threshold) ? cut.threshold : null,
      calibratedOn: learned ? learned.failures : null,
      selectedS: Math.round(selectedMs / 100) / 10,
      skippedJobs: cut.skipped.length,
    };
  }

  // Candidates are generated in catalog order (test, then pool), so the index is the fifo order.
  const ordering = request.options.ordering;
  const priority = (i: number) => tests[testOf[i]!]!.priority;
  selected.sort((a, b) => {
    if (ordering === 'duration') return estMs[b]! - estMs[a]! || a - b;
    if (ordering === 'fifo') return a - b;
    return score[b]! - score[a]! || priority(b) - priority(a) || estMs[a]! - estMs[b]! || a - b;
  });

  const retries = request.options.retries;
  const toJob = (i: number, seq: number, skipReason?: string): PlannedJob => {
    const test = tests[testOf[i]!]!;
    const [pool, members] = poolList[poolOf[i]!]!;
    const device = members[0]!;
    return {
      jobId: newId(),
      testId: test.id,
      pool,
      deviceModel: device.model,
      deviceFirmware: device.firmware,
      devicePlatform: device.platform,
      component: test.component,
      seq,
      score: score[i]!,
      reasons: scores[i]?.reasons ?? [],
      estDurationMs: estMs[i]!,
      maxRetries: retries ?? test.retries,
      timeoutMs: test.timeoutMs,
      ...(skipReason ? { skipReason } : {}),
    };
  };
  if (n > YIELD_ABOVE) await setImmediate();
  // The jobs are built in slices, each on its own turn of the event loop.
  const jobs: PlannedJob[] = [];
  for (let start = 0; start < selected.length + skipped.length; start += JOB_SLICE) {
    if (start > 0) await setImmediate();
    const end = Math.min(selected.length + skipped.length, start + JOB_SLICE);
    for (let seq = start; seq < end; seq++) {
      if (seq < selected.length) jobs.push(toJob(selected[seq]!, seq));
      else {
        const s = skipped[seq - selected.length]!;
        jobs.push(toJob(s.index, seq, s.reason));
      }
    }
  }
  return {
    jobs,
    pools: Object.fromEntries(poolList.map(([key, members]) => [key, members.map((d) => d.id)])),
    unplanned,
    ranker: ranker.name,
    ...(budgetS === undefined
      ? {}
      : { budget: { budgetS, selectedS: Math.round(selectedMs / 100) / 10, skippedJobs: skipped.length } }),
    ...(confidenceCut ? { confidence: confidenceCut } : {}),
  };
}
