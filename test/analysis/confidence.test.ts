import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../analysis/backend.ts';
import {
  densityOrder,
  entryRecall,
  MIN_CALIBRATION_FAILURES,
  RecallCalibrator,
  selectForRecall,
} from '../../analysis/evaluation/confidence.ts';
import { evaluateOnline } from '../../analysis/evaluation/online.ts';
import { generateLabHistory } from '../../analysis/generator/lab.ts';

describe('confidence selection', () => {
  it('takes pairs by score per second until the predicted recall reaches the threshold', () => {
    const scores = [0.1, 0.6, 0.3, 0];
    const est = [1, 3, 1, 1];
    const order = densityOrder(scores, est);
    expect(order).toEqual([2, 1, 0, 3]);
    expect([...entryRecall(scores, order)].map((v) => Number(v.toFixed(2)))).toEqual([0.9, 0.3, 0, 1]);
    expect(selectForRecall(scores, order, 0.5)).toEqual([2, 1]);
    expect(selectForRecall(scores, order, 0.95)).toEqual([2, 1, 0]);
  });

  it('learns the threshold from earlier failing pairs only, and selects everything until it has enough', () => {
    const c = new RecallCalibrator();
    c.record(Array.from({ length: MIN_CALIBRATION_FAILURES - 1 }, (_, i) => i / 100));
    expect(c.threshold(0.9)).toBe(Number.POSITIVE_INFINITY);
    const values = Array.from({ length: 99 }, (_, i) => i / 100);
    const d = new RecallCalibrator();
    d.record(values);
    const t = d.threshold(0.9);
    // ceil(100 * 0.9) = 90th smallest value (0.89), just above it: 90 of the 99 pairs would be selected.
    expect(t).toBeGreaterThan(0.89);
    expect(t).toBeLessThan(0.9);
    expect(values.filter((v) => v < t).length / values.length).toBeGreaterThanOrEqual(0.9);
  });

  describe('in the online evaluation of a generated history', () => {
    beforeAll(async () => {
      await initBackend();
    });

    it('reaches its stated recall, at less than the whole device time', async () => {
      const rows = generateLabHistory({ cycles: 120, seed: 21, devicesPerCycle: 4, testsPerDevice: 20 });
      const result = await evaluateOnline(rows, { seed: 1, confidence: 0.9, retrainEvery: 10, epochs: 2 });
      for (const which of ['model', 'historyModel'] as const) {
        const c = result.confidence[which];
        expect(c.confidence).toBe(0.9);
        expect(c.cutCycles).toBeGreaterThan(100);
        expect(c.recall).toBeGreaterThanOrEqual(0.9);
        expect(c.cost).toBeLessThan(0.75);
      }
    }, 120_000);
  });
});
