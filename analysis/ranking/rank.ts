import { FEATURE_COUNT, FEATURE_NAMES, featureMatrix } from '../features/vector.ts';
import { decayedFailureScore } from '../features/heuristic.ts';
import type { CycleContext, HistoryState, PairQuery } from '../features/state.ts';
import { type FailureModel, idColumns } from '../model/failure-model.ts';
import { beatsEvidence } from '../model/holdout.ts';
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
  /** Failures the model must have been fitted on to rank when its held-out rows cannot tell (see below). */
  minPositives?: number;
}

/**
 * A model fitted on few failures has learned noise: with 2-21 failures behind it, its order of pairs
 * that never failed was worse than random on the public histories, and its order of the pairs that did
 * fail was worse than their plain failure record (commons-io). An untrusted model ranks nothing: pairs
 * are ordered by their failure evidence, the decayed failures (score 1 - e^-decayed, the heuristic's
 * order), and pairs without any failure come after them by novelty (`novelty`).
 *
 * Whether to trust it is decided on the rows its last fit held out (the most recent ones, also used for
 * calibration): the model ranks only if it ranked their failures above the passes more often than the
 * failure evidence did (AUC). With fewer than 3 held-out failures there is nothing to compare, and the
 * model is trusted once its fit held 10 failures per feature: the usual events-per-variable rule for
 * logistic models (Peduzzi et al., 1996), fixed from the feature count, not tuned on any history.
 */
export const MIN_POSITIVES_TO_GENERALIZE = 10 * FEATURE_COUNT;

/** Whether the model's last fit earned ranking (see MIN_POSITIVES_TO_GENERALIZE). */
export function modelTrusted(
  model: FailureModel | null,
  minPositives = MIN_POSITIVES_TO_GENERALIZE,
): boolean {
  if (model === null || model.trainings === 0) return false;
  return beatsEvidence(model.holdout) ?? model.fitPositives >= minPositives;
}

/** What a ranking by this model orders pairs by, for plans and reports. */
export function rankedBy(model: FailureModel | null): string {
  if (modelTrusted(model)) return 'model';
  return `failure record, then novelty${model && model.trainings > 0 ? ' (model not yet trusted)' : ''}`;
}

/** 1 - e^-x without losing small x (a failure hundreds of cycles ago still counts). */
const evidenceScore = (decayedFailures: number): number => -Math.expm1(-decayedFailures);

/**
 * Untrusted scores: a pair with failure evidence scores above this floor; a pair without any scores
 * below it, by novelty, so that novelty orders only what the failure record leaves tied.
 */
export const EVIDENCE_FLOOR = 1e-9;

/**
 * How new a pair is to the lab: its test never ran (1), never ran on this device (1), never ran on this
 * device model's firmware (1). New tests and pairs have no record to be judged by; as in CI
 * prioritisation (Elbaum et al., FSE 2014) they go before tests with a clean record.
 */
export function novelty(state: HistoryState, q: PairQuery): number {
  const k = state.keysOf(q);
  const stats = state.statsOf(q, k);
  let n = 0;
  if (!stats.test) n++;
  if (!stats.pair) n++;
  if (k.testFirmware !== undefined && !stats.testFirmware) n++;
  return n;
}

/** The score of a pair while the model is untrusted: failure evidence first, then novelty. */
function evidenceOrNovelty(state: HistoryState, q: PairQuery): number {
  const decayed = decayedFailureScore(state, q);
  if (decayed > 0) return EVIDENCE_FLOOR + evidenceScore(decayed);
  return (EVIDENCE_FLOOR / 10) * (novelty(state, q) / 3);
}

export const DEFAULT_RECENCY_WEIGHT = 0.3;

/**
 * The model's failure probability for each pair: the network's calibrated output combined with
 * the documented recency term. Until the model is trusted (`modelTrusted`), the failure evidence
 * instead: 1 - e^-(decayed failures of the pair + a tenth of its test's), in the heuristic's order,
 * above EVIDENCE_FLOOR; pairs that never failed below it, by novelty.
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
  if (model && modelTrusted(model, options.minPositives)) {
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
  for (let i = 0; i < n; i++) out[i] = evidenceOrNovelty(state, pairs[i]!);
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
