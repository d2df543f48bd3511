import { comparePairs, type Cycle, groupCycles } from '../history/cycles.ts';
import type { HistoryRow } from '../history/row.ts';
import { decayedFailureScore } from '../features/heuristic.ts';
import { cycleContext, cycleQueries, HistoryState } from '../features/state.ts';
import { FEATURE_COUNT } from '../features/vector.ts';
import { FailureModel, idColumns } from '../model/failure-model.ts';
import { hashUnit } from '../model/hash.ts';
import { LogisticRegression } from '../model/logistic.ts';
import type { NetworkConfig } from '../model/network.ts';
import { DEFAULT_RECENCY_WEIGHT, modelTrusted } from '../ranking/rank.ts';
import { estimatedDurations } from '../features/duration.ts';
import type { ConfidenceSummary } from './confidence.ts';
import { OnlineRanker } from './online-ranker.ts';
import { type CycleMetrics, cycleMetrics, type Outcome } from './metrics.ts';

/**
 * `model`: devlab's ranker with the change under test; `historyModel`: the same ranker given no change
 * (its change features are 0), trained alongside on the same cycles.
 */
export const STRATEGIES = ['model', 'historyModel', 'heuristic', 'logistic', 'random', 'optimal'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface EvaluateOptions {
  /** Budget for NAPFD, a fraction of the pairs (and, for napfdTime, of the run time). */
  budget: number;
  /** Retrain every K cycles; default: about 30 retrainings over the history, at least every 10 cycles. */
  retrainEvery?: number;
  seed: number;
  /** Epochs per (warm-started) retraining. */
  epochs: number;
  batchSize: number;
  /** Each retraining fits on at most this many most recent examples. */
  trainWindow: number;
  recencyWeight: number;
  /** Positive class weight cap of the network's training. */
  maxPositiveWeight: number;
  network?: Partial<NetworkConfig>;
  /**
   * Target recall of the confidence selection (`confidence.ts`): the fewest device-seconds whose
   * predicted recall, calibrated on the earlier cycles, is at least this.
   */
  confidence: number;
  /**
   * Order the probability rankers (model and historyModel once trusted, logistic) by probability per
   * second of expected run time, and the heuristic's (and an untrusted model's failure record, then
   * novelty) equal scores by the faster pair first ("recently failed, then faster"):
   * the order that finds the most failures in the least device time (Smith's rule), what APFDc and the
   * recall at a third of the device time measure. Off: by probability alone.
   */
  costAware: boolean;
  /** Called after each cycle with (cycles done, total). */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_EVALUATE: EvaluateOptions = {
  budget: 0.5,
  seed: 1,
  epochs: 3,
  batchSize: 512,
  trainWindow: 10_000,
  recencyWeight: DEFAULT_RECENCY_WEIGHT,
  maxPositiveWeight: 5,
  confidence: 0.95,
  costAware: true,
};

export interface RankingLine {
  cycle: string;
  order: { test: string; device: string; score: number }[];
}

export interface CycleResult {
  cycle: string;
  index: number;
  pairs: number;
  failing: number;
  /** Whether the model ranked this cycle (else the failure record, then novelty: see rank.ts). */
  modelTrusted: boolean;
  metrics: Partial<Record<Strategy, CycleMetrics>>;
}

/**
 * A strategy's metrics averaged over the failing cycles (the same fields as one cycle's), and the
 * failing pairs found within the first third of the device time over all cycles together.
 */
export type StrategySummary = CycleMetrics & { recallThirdPooled: number };

export interface EvaluationResult {
  cycles: number;
  failingCycles: number;
  rows: number;
  budget: number;
  retrainEvery: number;
  retrainings: number;
  /** Cycles, and failing cycles, the trusted model ranked (the rest: failure record, then novelty). */
  trustedCycles: number;
  trustedFailingCycles: number;
  /** Whether any cycle carried a change (else `historyModel` is `model`: the same ranking). */
  hasChanges: boolean;
  /** The confidence selection of the model, and of the history-only model, over all cycles. */
  confidence: { model: ConfidenceSummary; historyModel: ConfidenceSummary };
  seed: number;
  recencyWeight: number;
  summary: Record<Strategy, StrategySummary>;
  perCycle: CycleResult[];
  /** (model probability, observed) for every pair ranked while the model was trusted. */
  calibration: { predicted: number; observed: number }[];
  rankings: RankingLine[];
  elapsedMs: number;
}

/**
 * Highest score first; ties by a seeded hash of (cycle, test, device), and a hash tie by the pair itself:
 * never by the order the pairs came in.
 */
function orderBy(
  scores: ArrayLike<number>,
  tieKeys: readonly number[],
  pairs: readonly { test: string; device: string }[],
  faster?: ArrayLike<number>,
): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) =>
      scores[b]! - scores[a]! ||
      (faster ? faster[a]! - faster[b]! : 0) ||
      tieKeys[a]! - tieKeys[b]! ||
      comparePairs(pairs[a]!, pairs[b]!),
  );
}

/** Failure probability per second of expected run time: the order that finds failures soonest in time. */
function perSecond(scores: ArrayLike<number>, est: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: scores.length }, (_, i) => scores[i]! / Math.max(1e-3, est[i]!));
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

/**
 * Strictly online evaluation: for each cycle in time order, rank its pairs from the state of the
 * earlier cycles only, score the orders, then reveal the cycle (append its examples, update the
 * state) and retrain on schedule. Nothing of cycle c or later reaches the ranking of cycle c.
 */
export async function evaluateOnline(
  input: readonly HistoryRow[] | readonly Cycle[],
  options: Partial<EvaluateOptions> = {},
): Promise<EvaluationResult> {
  const start = Date.now();
  const o = { ...DEFAULT_EVALUATE, ...options };
  const cycles: readonly Cycle[] =
    input.length > 0 && 'pairs' in input[0]! ? (input as Cycle[]) : groupCycles(input as HistoryRow[]);
  const retrainEvery = o.retrainEvery ?? Math.max(1, Math.min(10, Math.ceil(cycles.length / 30)));
  const hasChanges = cycles.some((c) => c.changed.length > 0);
  const state = new HistoryState();
  const model = new OnlineRanker(FailureModel.create({ seed: o.seed, ...o.network }), o.confidence);
  // Without any change in the history the two models would be the same model: only one is trained.
  const historyModel = hasChanges
    ? new OnlineRanker(FailureModel.create({ seed: o.seed, ...o.network }), o.confidence)
    : model;
  const lr = new LogisticRegression(FEATURE_COUNT);
  const perCycle: CycleResult[] = [];
  const rankings: RankingLine[] = [];
  const calibration: { predicted: number; observed: number }[] = [];
  let sinceTrain = 0;
  let retrainings = 0;
  let lrFitted = false;
  let rows = 0;
  try {
    for (const cycle of cycles) {
      const n = cycle.pairs.length;
      rows += n;
      const queries = cycleQueries(cycle);
      const ctx = cycleContext(cycle);
      // The history-only model is told nothing of the change: neither what it touched nor what it is based on.
      const noChange = ctx.timeMs !== undefined ? { timeMs: ctx.timeMs, changed: [] } : { changed: [] };
      const ids = idColumns(queries, model.model.config);
      const tie = queries.map((q) => hashUnit(`${cycle.id}\u0000${q.test}\u0000${q.device}`, o.seed));
      // The random baseline draws from the same (cycle, test, device) hash with another seed, not from a
      // stream consumed in the order the pairs are listed.
      const random = queries.map((q) =>
        hashUnit(`random\u0000${cycle.id}\u0000${q.test}\u0000${q.device}`, o.seed),
      );
      const trusted = modelTrusted(model.model);
      const modelScores = model.score(state, queries, ctx, o.recencyWeight);
      const historyScores =
        historyModel === model ? modelScores : historyModel.score(state, queries, noChange, o.recencyWeight);
      const heuristic = queries.map((q) => decayedFailureScore(state, q));
      const logistic = lrFitted ? lr.predict(model.dense, n) : new Float64Array(n);
      const optimal = cycle.pairs.map((p) => (p.failed ? 1e9 : 0) - p.durationS);
      // Expected run times from the earlier cycles (never this cycle's own).
      const est = estimatedDurations(state, queries);
      const timed = (x: ArrayLike<number>): ArrayLike<number> => (o.costAware ? perSecond(x, est) : x);
      // An untrusted ranker's scores are an order (failure record, then novelty), not probabilities:
      // ordered as the heuristic is, equal scores the faster first.
      const ranked = (x: ArrayLike<number>, isTrusted: boolean): number[] =>
        isTrusted || !o.costAware ? orderBy(timed(x), tie, queries) : orderBy(x, tie, queries, est);
      const orders: Record<Strategy, number[]> = {
        model: ranked(modelScores, trusted),
        historyModel: ranked(historyScores, modelTrusted(historyModel.model)),
        heuristic: orderBy(heuristic, tie, queries, o.costAware ? est : undefined),
        logistic: orderBy(timed(logistic), tie, queries),
        random: orderBy(random, tie, queries),
        optimal: orderBy(optimal, tie, queries),
      };
      rankings.push({
        cycle: cycle.id,
        order: orders.model.map((i) => ({
          test: queries[i]!.test,
          device: queries[i]!.device,
          score: Number(modelScores[i]!.toFixed(6)),
        })),
      });
      const labels = new Uint8Array(n);
      cycle.pairs.forEach((p, i) => {
        labels[i] = p.failed ? 1 : 0;
      });
      // Confidence selections, cut at thresholds learned from the earlier cycles only.
      model.select(modelScores, est, cycle);
      if (historyModel !== model) historyModel.select(historyScores, est, cycle);
      // Only the trusted model's scores are probabilities; the failure record's are an order.
      if (trusted)
        for (let i = 0; i < n; i++) calibration.push({ predicted: modelScores[i]!, observed: labels[i]! });
      const failing = labels.reduce((a, b) => a + b, 0);
      const result: CycleResult = {
        cycle: cycle.id,
        index: cycle.index,
        pairs: n,
        failing,
        modelTrusted: trusted,
        metrics: {},
      };
      if (failing > 0)
        for (const s of STRATEGIES) {
          const outcome: Outcome[] = orders[s].map((i) => ({
            failed: cycle.pairs[i]!.failed,
            durationS: cycle.pairs[i]!.durationS,
          }));
          const m = cycleMetrics(outcome, o.budget);
          if (m) result.metrics[s] = m;
        }
      perCycle.push(result);

      // Reveal the cycle: only now do its verdicts enter the state and the training sets.
      model.append(ids, labels);
      if (historyModel !== model) historyModel.append(ids, labels);
      state.update(cycle);
      sinceTrain++;
      const coldStart = model.model.trainings === 0 && failing > 0;
      if (model.set.positives > 0 && (sinceTrain >= retrainEvery || coldStart)) {
        const train = {
          epochs: o.epochs,
          batchSize: o.batchSize,
          seed: o.seed,
          maxPositiveWeight: o.maxPositiveWeight,
        };
        const ex = await model.train(o.trainWindow, train);
        if (historyModel !== model) await historyModel.train(o.trainWindow, train);
        lr.fit(ex.dense, ex.labels, 40);
        lrFitted = true;
        retrainings++;
        sinceTrain = 0;
      }
      o.onProgress?.(cycle.index + 1, cycles.length);
    }
  } finally {
    model.model.dispose();
    if (historyModel !== model) historyModel.model.dispose();
  }
  const summary = {} as Record<Strategy, StrategySummary>;
  for (const s of STRATEGIES) summary[s] = summarize(perCycle, s);
  return {
    cycles: cycles.length,
    failingCycles: perCycle.filter((c) => c.failing > 0).length,
    rows,
    budget: o.budget,
    retrainEvery,
    retrainings,
    trustedCycles: perCycle.filter((c) => c.modelTrusted).length,
    trustedFailingCycles: perCycle.filter((c) => c.modelTrusted && c.failing > 0).length,
    hasChanges,
    confidence: { model: model.tally.summary(), historyModel: historyModel.tally.summary() },
    seed: o.seed,
    recencyWeight: o.recencyWeight,
    summary,
    perCycle,
    calibration,
    rankings,
    elapsedMs: Date.now() - start,
  };
}

/** A strategy's metrics over the failing cycles (see StrategySummary). */
function summarize(perCycle: readonly CycleResult[], s: Strategy): StrategySummary {
  const ms = perCycle.flatMap((c) => (c.metrics[s] ? [c.metrics[s]] : []));
  let found = 0;
  let failing = 0;
  for (const c of perCycle) {
    const m = c.metrics[s];
    if (!m) continue;
    found += m.recallThird * c.failing;
    failing += c.failing;
  }
  return {
    apfd: mean(ms.map((m) => m.apfd)),
    napfd: mean(ms.map((m) => m.napfd)),
    napfdTime: mean(ms.map((m) => m.napfdTime)),
    apfdc: mean(ms.map((m) => m.apfdc)),
    firstPosition: mean(ms.map((m) => m.firstPosition)),
    firstRelativePosition: mean(ms.map((m) => m.firstRelativePosition)),
    firstTimeFraction: mean(ms.map((m) => m.firstTimeFraction)),
    recallThird: mean(ms.map((m) => m.recallThird)),
    recallThirdPooled: failing ? found / failing : Number.NaN,
  };
}
