/** Running failure statistics of one entity (a pair, a test, a device, a firmware, ...). */
export interface Stats {
  runs: number;
  fails: number;
  /** Exponentially weighted failure rate per run, fast (alpha 0.5) and slow (alpha 0.1). */
  ewmaFast: number;
  ewmaSlow: number;
  /** Failures decayed per cycle: value at cycle c is decay * DECAY_PER_CYCLE^(c - decayCycle). */
  decay: number;
  decayCycle: number;
  /** Last verdicts as bits, newest in bit 0 (1 = failed). */
  recent: number;
  lastFailed: boolean;
  /**
   * Flakiness (analysis/features/flakiness.ts), counted per (test, device) and summed into the other
   * entities from their pairs, never from differences between devices: runs that failed and then
   * passed on a retry in one job (`retryFlakes`), and verdict flips between consecutive runs on the
   * same device and the same build where both builds are known (`flips`). Bits: the last 16 runs,
   * newest in bit 0 (1 = such an event).
   */
  retryFlakes: number;
  flips: number;
  retryBits: number;
  flipBits: number;
  /** Build of the last run ('' when unknown): a flip only counts within one build. */
  lastBuild: string;
  firstCycle: number;
  lastRunCycle: number;
  lastFailCycle: number;
  lastFailTimeMs: number;
  durationEwma: number;
}

export const ALPHA_FAST = 0.5;
export const ALPHA_SLOW = 0.1;
export const DECAY_PER_CYCLE = 0.8;

export function newStats(cycle: number): Stats {
  return {
    runs: 0,
    fails: 0,
    ewmaFast: 0,
    ewmaSlow: 0,
    decay: 0,
    decayCycle: cycle,
    recent: 0,
    lastFailed: false,
    retryFlakes: 0,
    flips: 0,
    retryBits: 0,
    flipBits: 0,
    lastBuild: '',
    firstCycle: cycle,
    lastRunCycle: -1,
    lastFailCycle: -1,
    lastFailTimeMs: Number.NaN,
    durationEwma: 0,
  };
}

/** What one run of a pair says about its flakiness (see `flakyEvent` in flakiness.ts). */
export interface FlakyEvent {
  /** Failed, then passed on a retry, within the run. */
  retried: boolean;
  /** The verdict differs from the pair's previous run on the same device and build. */
  flipped: boolean;
}

const NO_FLAKE: FlakyEvent = { retried: false, flipped: false };

/** Records one execution outcome (of a pair, or of an entity a pair belongs to), with its flakiness. */
export function recordRun(
  s: Stats,
  failed: boolean,
  cycle: number,
  timeMs: number,
  durationS: number,
  flaky: FlakyEvent = NO_FLAKE,
  build = '',
): void {
  const f = failed ? 1 : 0;
  if (flaky.retried) s.retryFlakes++;
  if (flaky.flipped) s.flips++;
  s.retryBits = ((s.retryBits << 1) | (flaky.retried ? 1 : 0)) & 0xffff;
  s.flipBits = ((s.flipBits << 1) | (flaky.flipped ? 1 : 0)) & 0xffff;
  s.lastBuild = build;
  s.durationEwma = s.runs === 0 ? durationS : 0.7 * s.durationEwma + 0.3 * durationS;
  s.runs++;
  s.fails += f;
  s.ewmaFast += ALPHA_FAST * (f - s.ewmaFast);
  s.ewmaSlow += ALPHA_SLOW * (f - s.ewmaSlow);
  s.recent = ((s.recent << 1) | f) & 0xffff;
  s.lastFailed = failed;
  s.lastRunCycle = cycle;
  if (failed) {
    s.decay = decayAt(s, cycle) + 1;
    s.decayCycle = cycle;
    s.lastFailCycle = cycle;
    s.lastFailTimeMs = timeMs;
  }
}

/** The per-cycle decayed failure count as seen at `cycle`. */
export function decayAt(s: Stats, cycle: number): number {
  if (s.decay === 0) return 0;
  return s.decay * DECAY_PER_CYCLE ** Math.max(0, cycle - s.decayCycle);
}

/** Failures among the last k runs (k <= 16). */
export function recentFails(s: Stats, k: number): number {
  return countBits(s.recent, Math.min(k, s.runs));
}

/** Set bits among the lowest k of `bits` (the last k runs of a recent-runs bit field). */
export function countBits(bits0: number, k: number): number {
  let bits = bits0 & ((1 << Math.min(k, 16)) - 1);
  let n = 0;
  while (bits) {
    n += bits & 1;
    bits >>>= 1;
  }
  return n;
}
