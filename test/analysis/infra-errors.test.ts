import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../analysis/backend.ts';
import { decayedFailureScore } from '../../analysis/features/heuristic.ts';
import { HistoryState } from '../../analysis/features/state.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import type { HistoryRow, Verdict } from '../../analysis/history/row.ts';
import { trainOnHistory } from '../../analysis/model/train-history.ts';

/**
 * 10 cycles of 3 tests on 2 devices; `ui_home` fails on tv-1 in cycles 3 and 7. `play` on tv-2 gets
 * `infra` as its verdict in cycles 5-10 (what the lab records when the device, not the test, broke).
 */
function history(infra: Verdict): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (let c = 1; c <= 10; c++)
    for (const device of ['tv-1', 'tv-2'])
      for (const test of ['play', 'ui_home', 'epg']) {
        let verdict: Verdict = 'pass';
        if (test === 'ui_home' && device === 'tv-1' && (c === 3 || c === 7)) verdict = 'fail';
        if (test === 'play' && device === 'tv-2' && c >= 5) verdict = infra;
        rows.push({ cycle: String(c), test, device, deviceModel: 'm', firmware: '1', verdict, durationS: 5 });
      }
  return rows;
}

function stateOf(rows: readonly HistoryRow[]): HistoryState {
  const state = new HistoryState();
  for (const cycle of groupCycles(rows)) state.update(cycle);
  return state;
}

const play = { test: 'play', device: 'tv-2', deviceModel: 'm', firmware: '1' };

describe('infrastructure errors are never test failures (analysis)', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('an error row does not raise the pair’s decayed failure evidence', () => {
    const errors = stateOf(history('error'));
    const passes = stateOf(history('pass'));
    const fails = stateOf(history('fail'));
    expect(decayedFailureScore(errors, play)).toBe(0);
    expect(errors.get('pair', errors.keysOf(play).pair)).toMatchObject({ runs: 4, fails: 0, flips: 0 });
    expect(errors.get('test', 'play')!.fails).toBe(0);
    expect(errors.get('device', 'tv-2')!.fails).toBe(0);
    // The same rows as failures would raise it: the check above can fail.
    expect(decayedFailureScore(fails, play)).toBeGreaterThan(1);
    // And an error is not a pass either: it leaves no run behind (a pass would count 10 runs).
    expect(passes.get('pair', passes.keysOf(play).pair)!.runs).toBe(10);
  });

  it('an error row adds no training positive to the model', async () => {
    const train = { epochs: 1, batchSize: 64 };
    const withErrors = await trainOnHistory(history('error'), { train });
    const withPasses = await trainOnHistory(history('pass'), { train });
    const withFails = await trainOnHistory(history('fail'), { train });
    expect(withErrors.report.positives).toBe(2);
    expect(withPasses.report.positives).toBe(2);
    expect(withFails.report.positives).toBe(8);
    // The error rows are not examples at all (6 fewer than with passes).
    expect(withPasses.report.rows - withErrors.report.rows).toBe(6);
  });
});
