import type { HistoryState, PairQuery } from './state.ts';

/**
 * Expected run time of each pair from history only (never the run about to happen): the pair's own
 * smoothed duration, else its test's on any device, else the median of the others' estimates (1 s
 * when nothing at all is known).
 */
export function estimatedDurations(state: HistoryState, pairs: readonly PairQuery[]): Float64Array {
  const out = new Float64Array(pairs.length).fill(Number.NaN);
  const known: number[] = [];
  pairs.forEach((q, i) => {
    const k = state.keysOf(q);
    const pair = state.get('pair', k.pair);
    const test = state.get('test', k.test);
    const d =
      pair && pair.runs > 0 ? pair.durationEwma : test && test.runs > 0 ? test.durationEwma : Number.NaN;
    if (Number.isFinite(d)) {
      out[i] = d;
      known.push(d);
    }
  });
  known.sort((a, b) => a - b);
  const fallback = known.length ? known[Math.floor(known.length / 2)]! : 1;
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) out[i] = fallback;
  return out;
}
