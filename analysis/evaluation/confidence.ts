/**
 * Selection with stated confidence: run the fewest device-seconds whose predicted recall of the failing
 * pairs is at least a target (e.g. 95 %).
 *
 * Pairs are taken by predicted failures per second (score / estimated duration), the order that reaches
 * a share of the predicted failures soonest. The *predicted recall* of a prefix is its share of the
 * summed scores. A ranker's scores are not trusted to be calibrated in the tail, so the prefix is not cut
 * at a predicted recall of 95 % itself: `RecallCalibrator` learns, from earlier cycles only, which
 * predicted-recall threshold did find the target share of their failing pairs (a conformal quantile of
 * where each earlier failing pair entered its cycle's prefix), and the cut is made at that threshold.
 */

/** The order of a cycle's pairs by score per second, highest first (ties: lower index first). */
export function densityOrder(scores: ArrayLike<number>, estDurationS: ArrayLike<number>): number[] {
  const n = scores.length;
  const density = Float64Array.from({ length: n }, (_, i) => scores[i]! / Math.max(1e-3, estDurationS[i]!));
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => density[b]! - density[a]! || a - b);
}

/**
 * For each pair (by index), the predicted recall already reached before it in `order`: the pair is in
 * the selection for a threshold t exactly when its value is below t. 1 for every pair when no score is
 * positive (nothing to go by: only the whole cycle is a safe selection).
 */
export function entryRecall(scores: ArrayLike<number>, order: readonly number[]): Float64Array {
  const out = new Float64Array(scores.length).fill(1);
  let total = 0;
  for (const i of order) total += Math.max(0, scores[i]!);
  if (!(total > 0)) return out;
  let cum = 0;
  for (const i of order) {
    out[i] = Math.min(1, cum / total);
    cum += Math.max(0, scores[i]!);
  }
  return out;
}

/** The pairs (indices, in `order`) a predicted-recall threshold selects: the shortest prefix reaching it. */
export function selectForRecall(
  scores: ArrayLike<number>,
  order: readonly number[],
  threshold: number,
): number[] {
  const entry = entryRecall(scores, order);
  return order.filter((i) => entry[i]! < threshold);
}

/**
 * Earlier failing pairs the calibrator keeps (the most recent, about 90 cycles of the generated lab):
 * recent enough to follow the ranker as it learns. Chosen on dev seeds (analysis/RESULTS.md).
 */
export const CALIBRATION_WINDOW = 500;
/** Fewer earlier failing pairs than this: no threshold is learned and the whole cycle is selected. */
export const MIN_CALIBRATION_FAILURES = 20;

/**
 * Learns the predicted-recall threshold that found `confidence` of the failing pairs in earlier cycles:
 * the ceil((m + 1) c)-th smallest entry value of the last m failing pairs (split-conformal), just above
 * it. Feed it each cycle after that cycle was selected and revealed (`record`), never before.
 */
export class RecallCalibrator {
  private readonly values: number[] = [];

  constructor(
    readonly window = CALIBRATION_WINDOW,
    values: readonly number[] = [],
  ) {
    this.record(values);
  }

  get size(): number {
    return this.values.length;
  }

  /** The kept entry values, oldest first (a copy: a snapshot's, given back to the constructor). */
  entries(): number[] {
    return [...this.values];
  }

  /** The entry values (`entryRecall`) of a revealed cycle's failing pairs. */
  record(entries: Iterable<number>): void {
    for (const v of entries) this.values.push(v);
    if (this.values.length > this.window) this.values.splice(0, this.values.length - this.window);
  }

  /**
   * The threshold to cut at for `confidence` (in (0, 1)); Infinity (select everything) until
   * MIN_CALIBRATION_FAILURES failing pairs were seen, or when the quantile needs more than were seen.
   */
  threshold(confidence: number): number {
    const m = this.values.length;
    if (m < MIN_CALIBRATION_FAILURES) return Number.POSITIVE_INFINITY;
    const k = Math.ceil((m + 1) * confidence);
    if (k > m) return Number.POSITIVE_INFINITY;
    const sorted = [...this.values].sort((a, b) => a - b);
    const v = sorted[k - 1]!;
    // Just above the k-th value: the pair that entered there is selected too.
    return v + 1e-12 + Math.abs(v) * 1e-12;
  }

  /** `threshold(confidence)` with how many earlier failing pairs it was learned from. */
  cut(confidence: number): RecallCut {
    return { confidence, threshold: this.threshold(confidence), failures: this.values.length };
  }
}

/** Where a confidence selection cuts: a predicted-recall threshold learned from `failures` earlier failing pairs. */
export interface RecallCut {
  confidence: number;
  /** Infinity: too few earlier failing pairs to learn one; everything is selected. */
  threshold: number;
  failures: number;
}

/** What a confidence selection achieved over an evaluation. */
export interface ConfidenceSummary {
  confidence: number;
  /** Failing pairs selected / failing pairs, over every cycle. */
  recall: number;
  /** Mean over failing cycles of that cycle's recall. */
  meanCycleRecall: number;
  /** Device-seconds selected / device-seconds of the whole cycles, over every cycle. */
  cost: number;
  /** Mean over cycles of the selected share of the cycle's device time. */
  meanCycleCost: number;
  /** Cycles where a learned threshold cut the cycle (the rest ran whole: too little history). */
  cutCycles: number;
}

/** Accumulates the per-cycle outcome of a confidence selection. */
export class ConfidenceTally {
  private found = 0;
  private failing = 0;
  private selectedS = 0;
  private totalS = 0;
  private cycleRecalls: number[] = [];
  private cycleCosts: number[] = [];
  private cut = 0;

  constructor(readonly confidence: number) {}

  add(
    selected: ReadonlySet<number>,
    pairs: readonly { failed: boolean; durationS: number }[],
    wasCut: boolean,
  ): void {
    let f = 0;
    let found = 0;
    let sel = 0;
    let tot = 0;
    pairs.forEach((p, i) => {
      tot += p.durationS;
      if (selected.has(i)) sel += p.durationS;
      if (p.failed) {
        f++;
        if (selected.has(i)) found++;
      }
    });
    this.found += found;
    this.failing += f;
    this.selectedS += sel;
    this.totalS += tot;
    if (f > 0) this.cycleRecalls.push(found / f);
    this.cycleCosts.push(tot > 0 ? sel / tot : 1);
    if (wasCut) this.cut++;
  }

  summary(): ConfidenceSummary {
    const mean = (xs: number[]): number =>
      xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
    return {
      confidence: this.confidence,
      recall: this.failing ? this.found / this.failing : Number.NaN,
      meanCycleRecall: mean(this.cycleRecalls),
      cost: this.totalS ? this.selectedS / this.totalS : Number.NaN,
      meanCycleCost: mean(this.cycleCosts),
      cutCycles: this.cut,
    };
  }
}
