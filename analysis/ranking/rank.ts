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
    for (let i = 0; i < n; i++) {
      // r = 1 - exp(-decayed pair failures), already a feature column
      const r = dense[i * FEATURE_COUNT + col]!;
      out[i] = 1 - (1 - p[i]!) * (1 - w * r);
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
