import type { CyclePair } from '../history/cycles.ts';
import type { Stats } from './stats.ts';

/**
 * What the lab has learned about changes: how often a (test, device model) failed in the cycles whose
 * change touched a component (or a path; any token a cycle's `changed` holds), against how often it ran
 * in them. Learned strictly online, like every other statistic of the state: a cycle's outcomes are
 * recorded only when the cycle is revealed, so a ranking only ever reads the cycles before it.
 *
 * Three levels, from specific to general, so that an association seen on one test carries over:
 * - (token, test, model): "changes to drm broke player/test_012 on stick-r3";
 * - (token, test): the same test on any model;
 * - (token, test's component, model): tests of that component on that model (platform-specific code).
 *
 * Pooled counts beside them (`tokenKey`, `relationKey`, `tokenModelKey`, `ALL_KEY`) are the priors and
 * base rates of `change-risk.ts`.
 *
 * O(pairs x changed tokens) per revealed cycle; memory grows with tokens x tests x models.
 */
export interface ChangeStats {
  runs: number;
  fails: number;
}

const SEP = '\u0000';

/** Pseudo-runs of the base rate an association is shrunk towards (one failure in one run is weak evidence). */
export const ASSOCIATION_PRIOR_RUNS = 2;

export function testKey(token: string, test: string): string {
  return `t${SEP}${token}${SEP}${test}`;
}
export function testModelKey(token: string, test: string, model: string): string {
  return `m${SEP}${token}${SEP}${test}${SEP}${model}`;
}
export function componentModelKey(token: string, component: string, model: string): string {
  return `c${SEP}${token}${SEP}${component}${SEP}${model}`;
}
/** Every pair of the cycles whose change touched `token`: how often anything failed under it. */
export function tokenKey(token: string): string {
  return `x${SEP}${token}`;
}
/** The same, only the tests that declare `token` as their component (`declared`) or do not. */
export function relationKey(token: string, declared: boolean): string {
  return `r${SEP}${token}${SEP}${declared ? 'd' : 'u'}`;
}
/** Every test on device model `model` when `token` changed (platform-specific code). */
export function tokenModelKey(token: string, model: string): string {
  return `y${SEP}${token}${SEP}${model}`;
}
/** Every pair of every cycle that had a change: the lab's failure rate the excess rates are measured from. */
export const ALL_KEY = 'all';

function bump(table: Map<string, ChangeStats>, key: string, failed: boolean): void {
  let s = table.get(key);
  if (!s) {
    s = { runs: 0, fails: 0 };
    table.set(key, s);
  }
  s.runs++;
  if (failed) s.fails++;
}

/** Records one revealed pair against every token its cycle's change touched. */
export function recordChange(
  table: Map<string, ChangeStats>,
  changed: readonly string[],
  p: CyclePair,
  component: string | undefined,
): void {
  if (changed.length > 0) bump(table, ALL_KEY, p.failed);
  for (const token of changed) {
    bump(table, testKey(token, p.test), p.failed);
    bump(table, tokenKey(token), p.failed);
    bump(table, relationKey(token, token === component), p.failed);
    if (p.deviceModel !== undefined) {
      bump(table, tokenModelKey(token, p.deviceModel), p.failed);
      bump(table, testModelKey(token, p.test, p.deviceModel), p.failed);
      if (component !== undefined) bump(table, componentModelKey(token, component, p.deviceModel), p.failed);
    }
  }
}

/**
 * How much more often the entity failed when `token` changed than when it did not: the failure rate
 * under the change, shrunk towards the rate without it by ASSOCIATION_PRIOR_RUNS, minus the rate without
 * it (0 without any other run); 0 when never seen with the token or not above.
 */
export function lift(s: ChangeStats | undefined, entity: Stats | undefined): number {
  if (!s) return 0;
  const otherRuns = (entity?.runs ?? 0) - s.runs;
  const base = otherRuns > 0 ? Math.max(0, (entity?.fails ?? 0) - s.fails) / otherRuns : 0;
  const rate = (s.fails + ASSOCIATION_PRIOR_RUNS * base) / (s.runs + ASSOCIATION_PRIOR_RUNS);
  return Math.max(0, rate - base);
}
