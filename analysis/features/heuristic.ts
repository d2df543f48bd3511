import type { HistoryState, PairQuery } from './state.ts';
import { decayAt } from './stats.ts';

/** Weight of the test's own decayed failures (on any device) in the heuristic. */
export const TEST_SHARE = 0.1;

/**
 * The decayed-failure heuristic baseline: failures of the pair decayed by 0.8 per cycle, plus a
 * tenth of the test's own decayed failures (any device) to break ties.
 */
export function decayedFailureScore(state: HistoryState, q: PairQuery): number {
  const k = state.keysOf(q);
  const pair = state.get('pair', k.pair);
  const test = state.get('test', k.test);
  const c = state.cycles;
  return (pair ? decayAt(pair, c) : 0) + TEST_SHARE * (test ? decayAt(test, c) : 0);
}
