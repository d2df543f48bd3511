import { type HistoryRow, isFailure, isOutcome } from './row.ts';

/** One (test, device) pair within a cycle; several executions collapse into one. */
export interface CyclePair {
  test: string;
  device: string;
  deviceModel?: string;
  firmware?: string;
  component?: string;
  /** True when any execution of the pair in the cycle failed. */
  failed: boolean;
  /** Verdict flipped within the cycle (e.g. fail then pass): a flakiness signal. */
  mixed: boolean;
  /** Total duration of the pair's executions in the cycle. */
  durationS: number;
}

export interface Cycle {
  /** 0-based position in time order. */
  index: number;
  id: string;
  /** Epoch milliseconds, when the rows had a time. */
  timeMs?: number;
  changed: string[];
  pairs: CyclePair[];
}

export function pairKey(test: string, device: string): string {
  return `${test}\u0000${device}`;
}

/**
 * Groups rows into cycles in time order: numeric cycle ids numerically, else by time, else by
 * first appearance. Repeated executions of a pair in a cycle become one pair (failed if any failed).
 * Rows without an outcome (`error`, `skipped`, `blocked`; see `isOutcome`) make no pair.
 */
export function groupCycles(rows: readonly HistoryRow[]): Cycle[] {
  const byId = new Map<string, { first: number; rows: HistoryRow[] }>();
  rows.forEach((r, i) => {
    let c = byId.get(r.cycle);
    if (!c) {
      c = { first: i, rows: [] };
      byId.set(r.cycle, c);
    }
    c.rows.push(r);
  });
  const entries = [...byId.entries()];
  const allNumeric = entries.every(([id]) => /^-?\d+(\.\d+)?$/.test(id));
  const timeOf = (rs: HistoryRow[]): number | undefined => {
    const t = rs.find((r) => r.time)?.time;
    return t ? Date.parse(t) : undefined;
  };
  const allTimed = entries.every(([, c]) => timeOf(c.rows) !== undefined);
  entries.sort((a, b) => {
    if (allNumeric) return Number(a[0]) - Number(b[0]);
    if (allTimed) return timeOf(a[1].rows)! - timeOf(b[1].rows)! || a[1].first - b[1].first;
    return a[1].first - b[1].first;
  });
  return entries.map(([id, c], index) => {
    const pairs = new Map<string, CyclePair>();
    const changed = new Set<string>();
    for (const r of c.rows) {
      for (const ch of r.changed ?? []) changed.add(ch);
      // An infrastructure error, a skip or a block says nothing about the test: not a run of the pair.
      if (!isOutcome(r.verdict)) continue;
      const key = pairKey(r.test, r.device);
      const failed = isFailure(r.verdict);
      const p = pairs.get(key);
      if (p) {
        p.mixed ||= p.failed !== failed || r.verdict === 'flaky';
        p.failed ||= failed;
        p.durationS += r.durationS;
      } else {
        const np: CyclePair = {
          test: r.test,
          device: r.device,
          failed,
          mixed: r.verdict === 'flaky',
          durationS: r.durationS,
        };
        if (r.deviceModel) np.deviceModel = r.deviceModel;
        if (r.firmware) np.firmware = r.firmware;
        if (r.component) np.component = r.component;
        pairs.set(key, np);
      }
    }
    const timeMs = timeOf(c.rows);
    const cycle: Cycle = { index, id, changed: [...changed].sort(), pairs: [...pairs.values()] };
    if (timeMs !== undefined) cycle.timeMs = timeMs;
    return cycle;
  });
}
