import { FEATURE_COUNT, FEATURE_NAMES, featureMatrix } from '../features/vector.ts';
import { decayedFailureScore } from '../features/heuristic.ts';
import type { CycleContext, HistoryState, PairQuery } from '../features/state.ts';
import { type FailureModel, idColumns } from '../model/failure-model.ts';
import { comparePairs } from '../history/cycles.ts';
import { hashUnit } from '../model/hash.ts';
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
 * below it (at most a fifth of it), by novelty and the change, so that they order only what the failure
 * record leaves tied.
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

/** Whether the change under test touched the pair's test's component. */
function touched(state: HistoryState, q: PairQuery, changed: ReadonlySet<string>): boolean {
  const component = q.component ?? state.testComponent.get(q.test);
  return component !== undefined && changed.has(component);
}

/**
 * The score of a pair while the model is untrusted: failure evidence first, then novelty and whether
 * the change touched its test's component (each counts; without a change, novelty alone).
 */
function evidenceOrNovelty(state: HistoryState, q: PairQuery, changed: ReadonlySet<string>): number {
  const decayed = decayedFailureScore(state, q);
  if (decayed > 0) return EVIDENCE_FLOOR + evidenceScore(decayed);
  return (EVIDENCE_FLOOR / 10) * (novelty(state, q) / 3 + (touched(state, q, changed) ? 1 : 0));
}

export const DEFAULT_RECENCY_WEIGHT = 0.3;

/**
 * The model's failure probability for each pair: the network's calibrated output combined with
 * the documented recency term. Until the model is trusted (`modelTrusted`), the failure evidence
 * instead: 1 - e^-(decayed failures of the pair + a tenth of its test's), in the heuristic's order,
 * above EVIDENCE_FLOOR; pairs that never failed below it, by novelty and whether the change touched their component.
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
  const changed = new Set(ctx.changed ?? []);
  for (let i = 0; i < n; i++) out[i] = evidenceOrNovelty(state, pairs[i]!, changed);
  return out;
}

export interface TieOptions {
  /** The cycle being ranked (default: its index, `state.cycles`). */
  cycle?: string;
  /** Seed of the tie-breaking hash (default 1). */
  seed?: number;
}

/**
 * Highest score first; equal scores by a seeded hash of (cycle, test, device), then by the pair itself:
 * never by the order the pairs were listed in (a history file, the store, the catalog).
 */
export function rankOrder(
  state: HistoryState,
  scores: ArrayLike<number>,
  pairs: readonly PairQuery[],
  options: TieOptions = {},
): number[] {
  const cycle = options.cycle ?? String(state.cycles);
  const seed = options.seed ?? 1;
  const tie = pairs.map((q) => hashUnit(`${cycle}\u0000${q.test}\u0000${q.device}`, seed));
  return Array.from({ length: pairs.length }, (_, i) => i).sort(
    (a, b) => scores[b]! - scores[a]! || tie[a]! - tie[b]! || comparePairs(pairs[a]!, pairs[b]!),
  );
}

/** Ranks pairs by failure probability (highest first, ties as `rankOrder`) with reasons for each. */
export function rankPairs(
  state: HistoryState,
  model: FailureModel | null,
  pairs: readonly PairQuery[],
  ctx: CycleContext = {},
  options: ScoreOptions & TieOptions & { reasonsFor?: number } = {},
): RankedPair[] {
  const scores = scorePairs(state, model, pairs, ctx, options);
  const order = rankOrder(state, scores, pairs, options);
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
