import { FEATURE_COUNT, FEATURE_NAMES, featureMatrix } from '../features/vector.ts';
import { decayedFailureScore } from '../features/heuristic.ts';
import type { CycleContext, HistoryState, PairQuery } from '../features/state.ts';
import { decayAt } from '../features/stats.ts';
import { type FailureModel, idColumns } from '../model/failure-model.ts';
import { explainPair } from './reasons.ts';

export interface RankedPair {
  test: string;
  device: string;
  probability: number;
  reasons: string[];
}

export interface ScoreOptions {
  /**
   * Weight of the recency term r = 1 - exp(-decayed pair failures) combined with the model's
   * calibrated probability p as a noisy-OR: 1 - (1 - p)(1 - w r). 0 disables it.
   */
  recencyWeight?: number;
  /** Failures the model must have been fitted on before it ranks pairs that never failed (see below). */
  minPositives?: number;
}

/**
 * A model fitted on few failures has no evidence about pairs that never failed: what it learned about
 * them (from a handful of positives) is noise, and ordering never-failed pairs by it was worse than
 * random on the public histories. Until its last fit held this many failures, such pairs are left tied
 * (score 0, below every pair with a failure), like the heuristic leaves them; the model still orders
 * the pairs that did fail. 10 failures per feature: the usual events-per-variable rule for logistic
 * models (Peduzzi et al., 1996), fixed from the feature count, not tuned on any history.
 */
export const MIN_POSITIVES_TO_GENERALIZE = 10 * FEATURE_COUNT;

/** Whether the pair or its test ever failed (the evidence the heuristic ranks by). */
function hasFailed(state: HistoryState, q: PairQuery): boolean {
  const k = state.keysOf(q);
  return (state.get('pair', k.pair)?.fails ?? 0) > 0 || (state.get('test', k.test)?.fails ?? 0) > 0;
}

export const DEFAULT_RECENCY_WEIGHT = 0.3;

/**
 * The model's failure probability for each pair (the network's calibrated output combined with
 * the documented recency term). Without a trained model, falls back to the recency term alone
 * plus the decayed-failure heuristic (cold start).
 */
export function scorePairs(
  state: HistoryState,
  model: FailureModel | null,
  pairs: readonly PairQuery[],
  ctx: CycleContext,
  options: ScoreOptions = {},
): Float64Array {
  const w = options.recencyWeight ?? DEFAULT_RECENCY_WEIGHT;
  const n = pairs.length;
  const out = new Float64Array(n);
  const c = state.cycles;
  if (model && model.trainings > 0) {
    const dense = featureMatrix(state, pairs, ctx);
    const p = model.predict({ n, dense, ...idColumns(pairs, model.config) });
    const col = FEATURE_NAMES.indexOf('pair_decay');
    const generalizes = model.fitPositives >= (options.minPositives ?? MIN_POSITIVES_TO_GENERALIZE);
    for (let i = 0; i < n; i++) {
      // r = 1 - exp(-decayed pair failures), already a feature column
      const r = dense[i * FEATURE_COUNT + col]!;
      out[i] = generalizes || hasFailed(state, pairs[i]!) ? 1 - (1 - p[i]!) * (1 - w * r) : 0;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const q = pairs[i]!;
    const pairStats = state.get('pair', state.keysOf(q).pair);
    const r = 1 - Math.exp(-(pairStats ? decayAt(pairStats, c) : 0));
    const base = 0.01 * (1 - Math.exp(-decayedFailureScore(state, q)));
    out[i] = 1 - (1 - base) * (1 - w * r);
  }
  return out;
}

/** Ranks pairs by failure probability (highest first) with reasons for each. */
export function rankPairs(
  state: HistoryState,
  model: FailureModel | null,
  pairs: readonly PairQuery[],
  ctx: CycleContext = {},
  options: ScoreOptions & { reasonsFor?: number } = {},
): RankedPair[] {
  const scores = scorePairs(state, model, pairs, ctx, options);
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const explainTop = options.reasonsFor ?? Number.POSITIVE_INFINITY;
  return order.map((i, rank) => {
    const q = pairs[i]!;
    return {
      test: q.test,
      device: q.device,
      probability: scores[i]!,
      reasons: rank < explainTop ? explainPair(state, q, ctx) : [],
    };
  });
}
