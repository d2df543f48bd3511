import type { CyclePair } from '../history/cycles.ts';
import { countBits, type FlakyEvent, type Stats } from './stats.ts';

/**
 * Flakiness is a property of a test on one device. It comes from two things only:
 *
 * - a run that failed and then passed on a retry within one job (a `flaky` verdict, or `fail` and `pass`
 *   rows of one pair in one cycle);
 * - a verdict flip between consecutive runs on the same device, when both runs were of the same build or
 *   either build is unknown (a pass after a fail on a newer build may be a fix, not flakiness).
 *
 * Never from differences between devices: a test that always fails on one device and always passes on
 * the others is not flaky anywhere; it fails on that device.
 */

/** Builds that say nothing ('' and the run request's default 'unknown'). */
const UNKNOWN_BUILDS: ReadonlySet<string> = new Set(['', 'unknown']);

export function knownBuild(build: string | undefined): string {
  return build === undefined || UNKNOWN_BUILDS.has(build) ? '' : build;
}

/** Whether two runs count as the same build for a flip: both known and equal, or either unknown. */
export function sameBuild(a: string, b: string): boolean {
  return a === '' || b === '' || a === b;
}

/**
 * What this run of a pair says about its flakiness, given the pair's statistics before the run (none:
 * its first run). A run that was itself retried is counted as a retry flake, not also as a flip.
 */
export function flakyEvent(prev: Stats | undefined, p: CyclePair): FlakyEvent {
  if (p.mixed) return { retried: true, flipped: false };
  const flipped =
    prev !== undefined &&
    prev.runs > 0 &&
    prev.lastFailed !== p.failed &&
    sameBuild(prev.lastBuild, knownBuild(p.build));
  return { retried: false, flipped };
}

/** Runs looked at to call a pair flaky now. */
export const FLAKY_WINDOW = 10;

export interface PairFlakiness {
  runs: number;
  /** Among the last `window` runs (fewer when the pair ran fewer). */
  window: number;
  retried: number;
  flipped: number;
}

/** The pair's flaky events among its last FLAKY_WINDOW runs. */
export function recentFlakiness(s: Stats): PairFlakiness {
  const window = Math.min(FLAKY_WINDOW, s.runs);
  return {
    runs: s.runs,
    window,
    retried: countBits(s.retryBits, window),
    flipped: countBits(s.flipBits, window),
  };
}

/**
 * Whether a pair is flaky now: within its last FLAKY_WINDOW runs it failed then passed on a retry at
 * least once, or flipped verdict on the same build at least twice (one flip may be a regression).
 */
export function isFlakyNow(s: Stats | undefined): boolean {
  if (!s) return false;
  const f = recentFlakiness(s);
  return f.retried >= 1 || f.flipped >= 2;
}

/** Whether a pair was ever flaky in the history held (the report's flaky table). */
export function everFlaky(s: Stats): boolean {
  return s.retryFlakes >= 1 || s.flips >= 2;
}

/** Flaky events per run, for features and the report: (retry flakes + same-build flips) / (runs + 1). */
export function flakyRate(s: Stats | undefined): number {
  return s ? (s.retryFlakes + s.flips) / (s.runs + 1) : 0;
}

/** The evidence in words, e.g. "failed then passed on retry in 2 of its last 10 runs on this device". */
export function describeFlakiness(s: Stats): string {
  const f = recentFlakiness(s);
  const parts: string[] = [];
  if (f.retried > 0) parts.push(`failed then passed on retry in ${f.retried} of its last ${f.window} runs`);
  if (f.flipped > 0)
    parts.push(
      `${f.flipped} verdict flip${f.flipped === 1 ? '' : 's'} on the same build in its last ${f.window} runs`,
    );
  if (parts.length === 0) {
    if (s.retryFlakes > 0) parts.push(`failed then passed on retry in ${s.retryFlakes} of ${s.runs} runs`);
    if (s.flips > 0) parts.push(`${s.flips} verdict flips on the same build in ${s.runs} runs`);
  }
  return `${parts.join(', ')} on this device`;
}
