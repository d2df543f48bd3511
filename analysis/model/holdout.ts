import { TEST_SHARE } from '../features/heuristic.ts';
import { FEATURE_COUNT, FEATURE_NAMES } from '../features/vector.ts';

/** How the model and the plain failure record ranked the held-out (most recent, not fitted) rows. */
export interface HoldoutCheck {
  rows: number;
  failures: number;
  /** Area under the ROC curve of the model's raw output (ties count half). */
  modelAuc: number;
  /** The same for the failure evidence the heuristic ranks by (decayed failures). */
  evidenceAuc: number;
}

/** Fewest held-out failures to compare on, as for fitting the calibration on the same rows. */
export const MIN_HOLDOUT_FAILURES = 3;

/** Mann-Whitney AUC: the chance a random failure outranks a random pass; ties count half. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[idx[k]!]! > 0) {
        pos++;
        rankSum += midRank;
      }
    i = j + 1;
  }
  const neg = n - pos;
  return pos === 0 || neg === 0 ? Number.NaN : (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

const PAIR_DECAY = FEATURE_NAMES.indexOf('pair_decay');
const TEST_DECAY = FEATURE_NAMES.indexOf('test_decay');

/** The heuristic's decayed-failure score, read back from the feature columns (1 - e^-decayed). */
export function evidenceFromFeatures(dense: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pair = -Math.log1p(-Math.min(dense[i * FEATURE_COUNT + PAIR_DECAY]!, 1 - 1e-7));
    const test = -Math.log1p(-Math.min(dense[i * FEATURE_COUNT + TEST_DECAY]!, 1 - 1e-7));
    out[i] = pair + TEST_SHARE * test;
  }
  return out;
}

export function checkHoldout(raw: ArrayLike<number>, dense: Float32Array, labels: Uint8Array): HoldoutCheck {
  const n = labels.length;
  let failures = 0;
  for (let i = 0; i < n; i++) failures += labels[i]!;
  return {
    rows: n,
    failures,
    modelAuc: auc(raw, labels),
    evidenceAuc: auc(evidenceFromFeatures(dense, n), labels),
  };
}

/** Whether the held-out rows show the model ranking failures better than their failure record. */
export function beatsEvidence(h: HoldoutCheck | null): boolean | null {
  if (!h || h.failures < MIN_HOLDOUT_FAILURES || h.rows - h.failures < MIN_HOLDOUT_FAILURES) return null;
  return h.modelAuc > h.evidenceAuc;
}
