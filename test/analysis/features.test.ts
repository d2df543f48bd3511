import { describe, expect, it } from 'vitest';
import { decayedFailureScore } from '../../analysis/features/heuristic.ts';
import { HistoryState } from '../../analysis/features/state.ts';
import { recentFails } from '../../analysis/features/stats.ts';
import { FEATURE_COUNT, FEATURE_NAMES, featureMatrix } from '../../analysis/features/vector.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import { parseHistoryCsv } from '../../analysis/history/csv.ts';

const csv = `cycle,test,device,verdict,duration_s,device_model,firmware,component,changed
1,t1,d1,pass,10,m1,1.0,player,ui
1,t2,d1,fail,20,m1,1.0,ui,ui
2,t1,d1,fail,10,m1,1.0,player,player
2,t2,d1,pass,20,m1,1.0,ui,player
3,t1,d1,fail,12,m1,2.0,player,ui
`;

function col(x: Float32Array, row: number, name: (typeof FEATURE_NAMES)[number]): number {
  return x[row * FEATURE_COUNT + FEATURE_NAMES.indexOf(name)]!;
}

describe('HistoryState', () => {
  const cycles = groupCycles(parseHistoryCsv(csv));

  it('updates statistics incrementally, cycle by cycle', () => {
    const s = new HistoryState();
    s.update(cycles[0]!);
    s.update(cycles[1]!);
    const t1 = s.get('test', 't1')!;
    expect(t1).toMatchObject({ runs: 2, fails: 1, flips: 1, lastFailCycle: 1, firstCycle: 0 });
    expect(recentFails(t1, 5)).toBe(1);
    expect(t1.ewmaFast).toBeCloseTo(0.5);
    s.update(cycles[2]!);
    expect(recentFails(s.get('test', 't1')!, 2)).toBe(2);
    expect(s.get('firmware', 'm1\u00002.0')!.runs).toBe(1);
    expect(s.cycles).toBe(3);
  });

  it('computes features for the next cycle: recency, novelty, firmware and component change', () => {
    const s = new HistoryState();
    s.update(cycles[0]!);
    s.update(cycles[1]!);
    const x = featureMatrix(
      s,
      [
        { test: 't1', device: 'd1', deviceModel: 'm1', firmware: '2.0' },
        { test: 't3', device: 'd9', deviceModel: 'm1', firmware: '1.0' },
      ],
      { changed: ['player'] },
    );
    expect(col(x, 0, 'pair_last1')).toBe(1);
    expect(col(x, 0, 'pair_recency')).toBe(1);
    expect(col(x, 0, 'fw_new')).toBe(1);
    expect(col(x, 0, 'test_fw_new')).toBe(1);
    expect(col(x, 0, 'device_fw_changed')).toBe(1);
    expect(col(x, 0, 'component_changed')).toBe(1);
    expect(col(x, 1, 'test_new')).toBe(1);
    expect(col(x, 1, 'device_new')).toBe(1);
    expect(col(x, 1, 'pair_recency')).toBe(0);
    // firmware 1.0 of m1 appeared in cycle 0: "new" for its first 3 cycles only
    expect(col(x, 1, 'fw_new')).toBe(1);
    s.update(cycles[2]!);
    const later = featureMatrix(s, [{ test: 't3', device: 'd9', deviceModel: 'm1', firmware: '1.0' }], {});
    expect(col(later, 0, 'fw_new')).toBe(0);
    expect(col(later, 0, 'pair_new')).toBe(1);
  });

  it('scores the decayed-failure heuristic by recency', () => {
    const s = new HistoryState();
    s.update(cycles[0]!);
    s.update(cycles[1]!);
    // t1 failed in the last cycle, t2 one cycle earlier: t1 ranks first.
    expect(decayedFailureScore(s, { test: 't1', device: 'd1' })).toBeGreaterThan(
      decayedFailureScore(s, { test: 't2', device: 'd1' }),
    );
    expect(decayedFailureScore(s, { test: 'new', device: 'd1' })).toBe(0);
  });
});
