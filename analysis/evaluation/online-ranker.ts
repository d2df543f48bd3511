import type { Cycle } from '../history/cycles.ts';
import type { CycleContext, HistoryState, PairQuery } from '../features/state.ts';
import { featureMatrix } from '../features/vector.ts';
import type { FailureModel } from '../model/failure-model.ts';
import { type Examples, type IdColumns, TrainingSet } from '../model/training-set.ts';
import { scorePairs } from '../ranking/rank.ts';
import { ConfidenceTally, densityOrder, entryRecall, RecallCalibrator } from './confidence.ts';

/**
 * One learned ranker of the evaluation: its model, its training set (features as it saw them), and its
 * confidence selection's calibrator and tally. `score` keeps the cycle's features for `append`.
 */
export class OnlineRanker {
  readonly set = new TrainingSet();
  readonly calibrator = new RecallCalibrator();
  readonly tally: ConfidenceTally;
  /** The features of the cycle last scored, appended with its labels once it is revealed. */
  dense: Float32Array = new Float32Array(0);

  constructor(
    readonly model: FailureModel,
    readonly confidence: number,
  ) {
    this.tally = new ConfidenceTally(confidence);
  }

  score(
    state: HistoryState,
    queries: readonly PairQuery[],
    ctx: CycleContext,
    recencyWeight: number,
  ): Float64Array {
    this.dense = featureMatrix(state, queries, ctx);
    return scorePairs(state, this.model, queries, ctx, { recencyWeight });
  }

  /** Selects the cycle at the calibrated threshold, tallies it, and keeps where its pairs entered. */
  select(scores: Float64Array, est: Float64Array, cycle: Cycle): void {
    const order = densityOrder(scores, est);
    const entries = entryRecall(scores, order);
    // The threshold comes from the earlier cycles; this cycle's failures join the calibration after.
    const threshold = this.calibrator.threshold(this.confidence);
    const selected = new Set(order.filter((i) => entries[i]! < threshold));
    this.tally.add(selected, cycle.pairs, Number.isFinite(threshold));
    this.calibrator.record(cycle.pairs.flatMap((p, i) => (p.failed ? [entries[i]!] : [])));
  }

  append(ids: IdColumns, labels: Uint8Array): void {
    this.set.append({ n: labels.length, dense: this.dense, ...ids, labels });
  }

  async train(window: number, options: Parameters<FailureModel['train']>[1]): Promise<Examples> {
    const from = Math.max(0, this.set.n - window);
    const ex = this.set.slice(from, this.set.n);
    await this.model.train(ex, options);
    return ex;
  }
}
