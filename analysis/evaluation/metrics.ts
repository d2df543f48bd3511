/** One executed pair in ranked order. */
export interface Outcome {
  failed: boolean;
  durationS: number;
}

const MIN_DURATION = 1e-3;

function failPositions(order: readonly Outcome[]): number[] {
  const out: number[] = [];
  order.forEach((o, i) => {
    if (o.failed) out.push(i + 1);
  });
  return out;
}

/**
 * APFD = 1 - sum(TF_i) / (n m) + 1 / (2n), each failing pair one fault at 1-based position TF_i.
 * null when nothing failed.
 */
export function apfd(order: readonly Outcome[]): number | null {
  const tf = failPositions(order);
  const n = order.length;
  const m = tf.length;
  if (m === 0) return null;
  return 1 - tf.reduce((a, b) => a + b, 0) / (n * m) + 1 / (2 * n);
}

/**
 * Normalised APFD under a budget (Qu et al.): only a prefix of the order runs, either a fraction of
 * the pairs (`tests`) or of the total run time (`time`). p = detected / m and undetected faults
 * contribute 0: NAPFD = p - sum(TF_detected) / (n m) + p / (2n). null when nothing failed.
 */
export function napfd(
  order: readonly Outcome[],
  budget: number,
  mode: 'tests' | 'time' = 'tests',
): number | null {
  const n = order.length;
  const m = order.filter((o) => o.failed).length;
  if (m === 0) return null;
  let executed: number;
  if (mode === 'tests') executed = Math.floor(budget * n + 1e-9);
  else {
    const total = order.reduce((a, o) => a + Math.max(MIN_DURATION, o.durationS), 0);
    let t = 0;
    executed = 0;
    for (const o of order) {
      t += Math.max(MIN_DURATION, o.durationS);
      if (t > budget * total + 1e-9) break;
      executed++;
    }
  }
  const tf = failPositions(order.slice(0, executed));
  const p = tf.length / m;
  return p - tf.reduce((a, b) => a + b, 0) / (n * m) + p / (2 * n);
}

/**
 * Cost-cognizant APFD (Elbaum et al.) with unit fault severity:
 * APFDc = sum_i (sum_{j >= TF_i} t_j - t_{TF_i} / 2) / (sum_j t_j * m). null when nothing failed.
 */
export function apfdc(order: readonly Outcome[]): number | null {
  const t = order.map((o) => Math.max(MIN_DURATION, o.durationS));
  const total = t.reduce((a, b) => a + b, 0);
  const tf = failPositions(order);
  if (tf.length === 0) return null;
  const suffix = new Float64Array(t.length + 1);
  for (let j = t.length - 1; j >= 0; j--) suffix[j] = suffix[j + 1]! + t[j]!;
  let sum = 0;
  for (const pos of tf) sum += suffix[pos - 1]! - t[pos - 1]! / 2;
  return sum / (total * tf.length);
}

/** 1-based position of the first failure and the fraction of run time spent until it finished. */
export function firstFailure(order: readonly Outcome[]): { position: number; timeFraction: number } | null {
  const total = order.reduce((a, o) => a + Math.max(MIN_DURATION, o.durationS), 0);
  let t = 0;
  for (let i = 0; i < order.length; i++) {
    t += Math.max(MIN_DURATION, order[i]!.durationS);
    if (order[i]!.failed) return { position: i + 1, timeFraction: t / total };
  }
  return null;
}

/**
 * Fraction of the failing pairs found once `fraction` of the run time is spent: a pair counts when it
 * finished within that share of the total time (as NAPFD's time budget cuts). null when nothing failed.
 */
export function recallWithinTime(order: readonly Outcome[], fraction: number): number | null {
  const total = order.reduce((a, o) => a + Math.max(MIN_DURATION, o.durationS), 0);
  const m = order.filter((o) => o.failed).length;
  if (m === 0) return null;
  let t = 0;
  let found = 0;
  for (const o of order) {
    t += Math.max(MIN_DURATION, o.durationS);
    if (t > fraction * total + 1e-9) break;
    if (o.failed) found++;
  }
  return found / m;
}

/** The share of device time `recallThird` looks at. */
export const RECALL_TIME_FRACTION = 1 / 3;

export interface CycleMetrics {
  apfd: number;
  napfd: number;
  napfdTime: number;
  apfdc: number;
  firstPosition: number;
  firstRelativePosition: number;
  firstTimeFraction: number;
  /** Fraction of the failing pairs found within the first third of the run time (`recallWithinTime`). */
  recallThird: number;
}

/** All metrics of one failing cycle's order; null when nothing failed. */
export function cycleMetrics(order: readonly Outcome[], budget: number): CycleMetrics | null {
  const a = apfd(order);
  const first = firstFailure(order);
  if (a === null || !first) return null;
  return {
    apfd: a,
    napfd: napfd(order, budget, 'tests')!,
    napfdTime: napfd(order, budget, 'time')!,
    apfdc: apfdc(order)!,
    firstPosition: first.position,
    firstRelativePosition: first.position / order.length,
    firstTimeFraction: first.timeFraction,
    recallThird: recallWithinTime(order, RECALL_TIME_FRACTION)!,
  };
}
