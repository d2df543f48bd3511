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
  flips: number;
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
    flips: 0,
    firstCycle: cycle,
    lastRunCycle: -1,
    lastFailCycle: -1,
    lastFailTimeMs: Number.NaN,
    durationEwma: 0,
  };
}

/** Records one execution outcome. */
export function recordRun(s: Stats, failed: boolean, cycle: number, timeMs: number, durationS: number): void {
  const f = failed ? 1 : 0;
  if (s.runs > 0 && s.lastFailed !== failed) s.flips++;
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
  let bits = s.recent & ((1 << Math.min(k, s.runs)) - 1);
  let n = 0;
  while (bits) {
    n += bits & 1;
    bits >>>= 1;
  }
  return n;
}
