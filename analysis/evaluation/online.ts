import { type Cycle, groupCycles } from '../history/cycles.ts';
import type { HistoryRow } from '../history/row.ts';
import { decayedFailureScore } from '../features/heuristic.ts';
import { cycleContext, cycleQueries, HistoryState } from '../features/state.ts';
import { FEATURE_COUNT, featureMatrix } from '../features/vector.ts';
import { FailureModel, idColumns } from '../model/failure-model.ts';
import { hashUnit, seededRandom } from '../model/hash.ts';
import { LogisticRegression } from '../model/logistic.ts';
import type { NetworkConfig } from '../model/network.ts';
import { TrainingSet } from '../model/training-set.ts';
import { DEFAULT_RECENCY_WEIGHT, modelTrusted, scorePairs } from '../ranking/rank.ts';
import { type CycleMetrics, cycleMetrics, type Outcome } from './metrics.ts';

export const STRATEGIES = ['model', 'heuristic', 'logistic', 'random', 'optimal'] as const;
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

/** A strategy's metrics averaged over the failing cycles: the same fields as one cycle's. */
export type StrategySummary = CycleMetrics;

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
  seed: number;
  recencyWeight: number;
  summary: Record<Strategy, StrategySummary>;
  perCycle: CycleResult[];
  /** (model probability, observed) for every pair ranked while the model was trusted. */
  calibration: { predicted: number; observed: number }[];
  rankings: RankingLine[];
  elapsedMs: number;
}

function orderBy(scores: ArrayLike<number>, tieKeys: readonly number[]): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => scores[b]! - scores[a]! || tieKeys[a]! - tieKeys[b]!,
  );
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
  const state = new HistoryState();
  const model = FailureModel.create({ seed: o.seed, ...o.network });
  const lr = new LogisticRegression(FEATURE_COUNT);
  const set = new TrainingSet();
  const rnd = seededRandom(o.seed);
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
      const dense = featureMatrix(state, queries, ctx);
      const ids = idColumns(queries, model.config);
      const tie = queries.map((q) => hashUnit(`${cycle.id}\u0000${q.test}\u0000${q.device}`, o.seed));
      const trusted = modelTrusted(model);
      const modelScores = scorePairs(state, model, queries, ctx, { recencyWeight: o.recencyWeight });
      const heuristic = queries.map((q) => decayedFailureScore(state, q));
      const logistic = lrFitted ? lr.predict(dense, n) : new Float64Array(n);
      const random = queries.map(() => rnd());
      const optimal = cycle.pairs.map((p) => (p.failed ? 1e9 : 0) - p.durationS);
      const orders: Record<Strategy, number[]> = {
        model: orderBy(modelScores, tie),
        heuristic: orderBy(heuristic, tie),
        logistic: orderBy(logistic, tie),
        random: orderBy(random, tie),
        optimal: orderBy(optimal, tie),
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

      // Reveal the cycle: only now do its verdicts enter the state and the training set.
      set.append({ n, dense, ...ids, labels });
      state.update(cycle);
      sinceTrain++;
      const coldStart = model.trainings === 0 && failing > 0;
      if (set.positives > 0 && (sinceTrain >= retrainEvery || coldStart)) {
        const from = Math.max(0, set.n - o.trainWindow);
        const ex = set.slice(from, set.n);
        await model.train(ex, {
          epochs: o.epochs,
          batchSize: o.batchSize,
          seed: o.seed,
          maxPositiveWeight: o.maxPositiveWeight,
        });
        lr.fit(ex.dense, ex.labels, 40);
        lrFitted = true;
        retrainings++;
        sinceTrain = 0;
      }
      o.onProgress?.(cycle.index + 1, cycles.length);
    }
  } finally {
    model.dispose();
  }
  const summary = {} as Record<Strategy, StrategySummary>;
  for (const s of STRATEGIES) {
    const ms = perCycle.flatMap((c) => (c.metrics[s] ? [c.metrics[s]] : []));
    summary[s] = {
      apfd: mean(ms.map((m) => m.apfd)),
      napfd: mean(ms.map((m) => m.napfd)),
      napfdTime: mean(ms.map((m) => m.napfdTime)),
      apfdc: mean(ms.map((m) => m.apfdc)),
      firstPosition: mean(ms.map((m) => m.firstPosition)),
      firstRelativePosition: mean(ms.map((m) => m.firstRelativePosition)),
      firstTimeFraction: mean(ms.map((m) => m.firstTimeFraction)),
    };
  }
  return {
    cycles: cycles.length,
    failingCycles: perCycle.filter((c) => c.failing > 0).length,
    rows,
    budget: o.budget,
    retrainEvery,
    retrainings,
    trustedCycles: perCycle.filter((c) => c.modelTrusted).length,
    trustedFailingCycles: perCycle.filter((c) => c.modelTrusted && c.failing > 0).length,
    seed: o.seed,
    recencyWeight: o.recencyWeight,
    summary,
    perCycle,
    calibration,
    rankings,
    elapsedMs: Date.now() - start,
  };
}
