import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../analysis/features/vector.ts';
import { auc, beatsEvidence, checkHoldout, evidenceFromFeatures } from '../../analysis/model/holdout.ts';

describe('held-out comparison of the model with the failure evidence', () => {
  it('computes AUC as the share of (failure, pass) pairs ranked right, ties counting half', () => {
    expect(auc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0])).toBe(1);
    expect(auc([0.1, 0.2, 0.9, 0.8], [1, 1, 0, 0])).toBe(0);
    // failure 0.5 vs passes 0.5 (tie, 1/2) and 0.1 (right, 1): (0.5 + 1) / 2
    expect(auc([0.5, 0.5, 0.1], [1, 0, 0])).toBe(0.75);
    expect(auc([0, 0, 0, 0], [1, 0, 1, 0])).toBe(0.5);
    expect(auc([0.3, 0.4], [0, 0])).toBeNaN();
  });

  it('reads the decayed-failure score back from the feature columns', () => {
    const dense = new Float32Array(2 * FEATURE_COUNT);
    const pair = FEATURE_NAMES.indexOf('pair_decay');
    const test = FEATURE_NAMES.indexOf('test_decay');
    dense[pair] = 1 - Math.exp(-2);
    dense[test] = 1 - Math.exp(-3);
    dense[FEATURE_COUNT + test] = 1 - Math.exp(-1);
    const e = evidenceFromFeatures(dense, 2);
    expect(e[0]).toBeCloseTo(2 + 0.1 * 3, 5);
    expect(e[1]).toBeCloseTo(0.1, 5);
  });

  it('decides only with at least 3 held-out failures and 3 passes', () => {
    const dense = new Float32Array(8 * FEATURE_COUNT);
    const pair = FEATURE_NAMES.indexOf('pair_decay');
    // The evidence ranks rows 0-3 first; the failures are rows 2-5, so the evidence gets half of them.
    for (let i = 0; i < 4; i++) dense[i * FEATURE_COUNT + pair] = 0.5;
    const labels = Uint8Array.from([0, 0, 1, 1, 1, 1, 0, 0]);
    const modelRaw = [0.1, 0.1, 0.9, 0.9, 0.8, 0.8, 0.2, 0.2];
    const h = checkHoldout(modelRaw, dense, labels);
    expect(h).toMatchObject({ rows: 8, failures: 4, modelAuc: 1 });
    expect(h.evidenceAuc).toBe(0.5);
    expect(beatsEvidence(h)).toBe(true);
    expect(beatsEvidence({ ...h, modelAuc: 0.4 })).toBe(false);
    // A tie is not a win: the model has to rank better than the record it is built on.
    expect(beatsEvidence({ ...h, modelAuc: 0.5 })).toBe(false);
    expect(beatsEvidence({ ...h, failures: 2 })).toBeNull();
    expect(beatsEvidence({ ...h, rows: 6 })).toBeNull();
    expect(beatsEvidence(null)).toBeNull();
  });
});
