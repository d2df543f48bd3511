import { describe, expect, it } from 'vitest';
import {
  buildTestKey,
  buildTestModelKey,
  failedOnBuild,
  KEPT_FAILING_BUILDS,
  recordBuildFailure,
  type BuildFailures,
} from '../../analysis/features/base-build.ts';
import { HistoryState, type PairQuery } from '../../analysis/features/state.ts';
import { historyToCsv, parseHistoryCsv } from '../../analysis/history/csv.ts';
import { type Cycle, type CyclePair, groupCycles } from '../../analysis/history/cycles.ts';
import type { HistoryRow } from '../../analysis/history/row.ts';
import { generateLabHistory } from '../../analysis/generator/lab.ts';
import { explainPair } from '../../analysis/ranking/reasons.ts';

function pair(test: string, device: string, model: string, build: string, failed: boolean): CyclePair {
  return {
    test,
    device,
    deviceModel: model,
    component: 'player',
    build,
    failed,
    mixed: false,
    durationS: 10,
  };
}

const T1_M1: PairQuery = { test: 't1', device: 'm1-1', deviceModel: 'm1', component: 'player' };
const T1_M2: PairQuery = { test: 't1', device: 'm2-1', deviceModel: 'm2', component: 'player' };
const T2_M1: PairQuery = { test: 't2', device: 'm1-1', deviceModel: 'm1', component: 'player' };

describe('failures on the base build', () => {
  it('keep the last few failing builds per test and (test, model); unknown builds say nothing', () => {
    const table: BuildFailures = new Map();
    recordBuildFailure(table, 't1', 'm1', 'unknown');
    recordBuildFailure(table, 't1', 'm1', undefined);
    expect(table.size).toBe(0);
    for (let b = 1; b <= KEPT_FAILING_BUILDS + 2; b++) recordBuildFailure(table, 't1', 'm1', `b${b}`);
    recordBuildFailure(table, 't1', undefined, 'b3');
    expect(table.get(buildTestModelKey('t1', 'm1'))).toEqual(['b3', 'b4', 'b5', 'b6']);
    // b3 again (on any model) is the newest failing build of the test, not a second entry.
    expect(table.get(buildTestKey('t1'))).toEqual(['b4', 'b5', 'b6', 'b3']);
    expect(failedOnBuild(table, buildTestModelKey('t1', 'm1'), 'b2')).toBe(false);
    expect(failedOnBuild(table, buildTestModelKey('t1', 'm1'), 'b6')).toBe(true);
    expect(failedOnBuild(table, buildTestModelKey('t1', 'm1'), undefined)).toBe(false);
  });

  it('tell a preview that a pair failed in a run of the base build, only once that run was revealed', () => {
    const state = new HistoryState();
    const merged: Cycle = {
      index: 0,
      id: '1',
      changed: ['player'],
      baseBuild: 'b0',
      pairs: [
        pair('t1', 'm1-1', 'm1', 'b1', true),
        pair('t1', 'm2-1', 'm2', 'b1', false),
        pair('t2', 'm1-1', 'm1', 'b1', false),
      ],
    };
    const onB1 = { changed: ['ui'], baseBuild: 'b1' };
    const reason = 'failed on the base build b1 (m1)';
    // Before b1's run is revealed, nothing of it is known.
    expect(explainPair(state, T1_M1, onB1)).not.toContain(reason);
    state.update(merged);

    // The next change is based on b1 (it was merged): t1 failed there on m1, not on m2; t2 passed.
    expect(explainPair(state, T1_M1, onB1)).toContain(reason);
    expect(explainPair(state, T1_M2, onB1).some((r) => r.startsWith('failed on the base build'))).toBe(false);
    expect(explainPair(state, T2_M1, onB1).some((r) => r.startsWith('failed on the base build'))).toBe(false);
    expect(failedOnBuild(state.buildFailures, buildTestKey('t1'), 'b1')).toBe(true);
    expect(failedOnBuild(state.buildFailures, buildTestKey('t2'), 'b1')).toBe(false);

    // Based on b0 (b1 was not merged), or on no known base: b1's failure is that change's own.
    for (const ctx of [{ changed: ['ui'], baseBuild: 'b0' }, { changed: ['ui'] }])
      expect(explainPair(state, T1_M1, ctx).some((r) => r.startsWith('failed on the base build'))).toBe(
        false,
      );

    // A snapshot keeps what the builds taught.
    const restored = HistoryState.restore(structuredClone(state.snapshot()));
    expect(explainPair(restored, T1_M1, onB1)).toContain(reason);
  });

  it('travel with history rows: a CSV base_build column, one base build per cycle', () => {
    const rows: HistoryRow[] = [
      { cycle: '1', test: 't1', device: 'd1', build: 'b1', baseBuild: 'b0', verdict: 'fail', durationS: 3 },
      { cycle: '1', test: 't2', device: 'd1', build: 'b1', baseBuild: 'b0', verdict: 'pass', durationS: 2 },
      { cycle: '2', test: 't1', device: 'd1', build: 'b2', baseBuild: 'b1', verdict: 'fail', durationS: 3 },
    ];
    const csv = historyToCsv(rows);
    expect(csv.split('\n')[0]).toContain('base_build');
    const back = parseHistoryCsv(csv, 'h.csv');
    expect(back.map((r) => r.baseBuild)).toEqual(['b0', 'b0', 'b1']);
    expect(groupCycles(back).map((c) => c.baseBuild)).toEqual(['b0', 'b1']);
  });
});

describe('the generated lab history', () => {
  it('bases each change on the last merged build: merged regressions break the base, clean changes move it too', () => {
    const rows = generateLabHistory({ seed: 3, cycles: 120 });
    const cycles = groupCycles(rows);
    const builds = cycles.map((c) => c.pairs[0]!.build!);
    let moves = 0;
    let brokenBases = 0;
    for (let i = 1; i < cycles.length; i++) {
      const base = cycles[i]!.baseBuild!;
      // The base is the start of the main line or the build of an earlier cycle, never a later one.
      const at = builds.indexOf(base);
      expect(base === 'b999' || (at >= 0 && at < i)).toBe(true);
      // It only moves to the build of the cycle just before (a merge), or stays.
      expect([cycles[i - 1]!.baseBuild, builds[i - 1]]).toContain(base);
      if (base !== cycles[i - 1]!.baseBuild) {
        moves++;
        if (cycles[i - 1]!.pairs.some((p) => p.failed)) brokenBases++;
      }
    }
    expect(moves).toBeGreaterThan(30);
    expect(moves).toBeLessThan(cycles.length - 10);
    expect(brokenBases).toBeGreaterThan(0);
  });
});
