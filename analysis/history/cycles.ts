import { type HistoryRow, isFailure, isOutcome } from './row.ts';

/** One (test, device) pair within a cycle; several executions collapse into one. */
export interface CyclePair {
  test: string;
  device: string;
  deviceModel?: string;
  firmware?: string;
  component?: string;
  /** The build under test, when known. */
  build?: string;
  /** True when any execution of the pair in the cycle failed. */
  failed: boolean;
  /** Verdict flipped within the cycle (e.g. fail then pass): a flakiness signal. */
  mixed: boolean;
  /** Total duration of the pair's executions in the cycle. */
  durationS: number;
  /** `pairKey(test, device)`, when whoever made the pair had it already (saves building it again). */
  key?: string;
}

export interface Cycle {
  /** 0-based position in time order. */
  index: number;
  id: string;
  /** Epoch milliseconds, when the rows had a time. */
  timeMs?: number;
  changed: string[];
  /** The build the cycle's change is based on (its rows' `baseBuild`), when known. */
  baseBuild?: string;
  pairs: CyclePair[];
}

export function pairKey(test: string, device: string): string {
  return `${test}\u0000${device}`;
}

/** The canonical order of a cycle's pairs: by test, then device (never the order rows were listed in). */
export function comparePairs(
  a: { test: string; device: string },
  b: { test: string; device: string },
): number {
  return a.test < b.test ? -1 : a.test > b.test ? 1 : a.device < b.device ? -1 : a.device > b.device ? 1 : 0;
}

/** The smaller of two optional attributes: a pair's rows that disagree give the same value in any order. */
function least(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b || undefined;
  if (!b) return a;
  return a <= b ? a : b;
}

/**
 * Groups rows into cycles in time order: numeric cycle ids numerically, else by time (a cycle's
 * earliest row), else by first appearance. Repeated executions of a pair in a cycle become one pair
 * (failed if any failed). Rows without an outcome (`error`, `skipped`, `blocked`; see `isOutcome`) make
 * no pair. Nothing depends on the order of rows within a cycle: pairs come in canonical order
 * (`comparePairs`), and rows of a pair that disagree on an attribute give the least value.
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
    let min: number | undefined;
    for (const r of rs) {
      if (!r.time) continue;
      const t = Date.parse(r.time);
      if (min === undefined || t < min) min = t;
    }
    return min;
  };
  const allTimed = entries.every(([, c]) => timeOf(c.rows) !== undefined);
  entries.sort((a, b) => {
    if (allNumeric) return Number(a[0]) - Number(b[0]);
    if (allTimed) return timeOf(a[1].rows)! - timeOf(b[1].rows)! || a[1].first - b[1].first;
    return a[1].first - b[1].first;
  });
  return entries.map(([id, c], index) => {
    const pairs = new Map<string, CyclePair>();
    // A pair's repeated executions, summed in one order at the end (a float sum in row order would
    // differ in its last bits).
    const durations = new Map<string, number[]>();
    const changed = new Set<string>();
    let baseBuild: string | undefined;
    for (const r of c.rows) {
      for (const ch of r.changed ?? []) changed.add(ch);
      baseBuild = least(baseBuild, r.baseBuild);
      // An infrastructure error, a skip or a block says nothing about the test: not a run of the pair.
      if (!isOutcome(r.verdict)) continue;
      const key = pairKey(r.test, r.device);
      const failed = isFailure(r.verdict);
      const p = pairs.get(key);
      if (p) {
        p.mixed ||= p.failed !== failed || r.verdict === 'flaky';
        p.failed ||= failed;
        const ds = durations.get(key);
        if (ds) ds.push(r.durationS);
        else durations.set(key, [p.durationS, r.durationS]);
        const deviceModel = least(p.deviceModel, r.deviceModel);
        const firmware = least(p.firmware, r.firmware);
        const component = least(p.component, r.component);
        const build = least(p.build, r.build);
        if (deviceModel) p.deviceModel = deviceModel;
        if (firmware) p.firmware = firmware;
        if (component) p.component = component;
        if (build) p.build = build;
      } else {
        const np: CyclePair = {
          test: r.test,
          device: r.device,
          failed,
          mixed: r.verdict === 'flaky',
          durationS: r.durationS,
          key,
        };
        if (r.deviceModel) np.deviceModel = r.deviceModel;
        if (r.firmware) np.firmware = r.firmware;
        if (r.component) np.component = r.component;
        if (r.build) np.build = r.build;
        pairs.set(key, np);
      }
    }
    for (const [key, ds] of durations)
      pairs.get(key)!.durationS = ds.sort((a, b) => a - b).reduce((a, b) => a + b, 0);
    const timeMs = timeOf(c.rows);
    const cycle: Cycle = {
      index,
      id,
      changed: [...changed].sort(),
      pairs: [...pairs.values()].sort(comparePairs),
    };
    if (timeMs !== undefined) cycle.timeMs = timeMs;
    if (baseBuild) cycle.baseBuild = baseBuild;
    return cycle;
  });
}
