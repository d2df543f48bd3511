import { type Cycle, groupCycles } from '../history/cycles.ts';
import type { HistoryRow } from '../history/row.ts';
import { cycleContext, cycleQueries, HistoryState } from '../features/state.ts';
import { featureMatrix } from '../features/vector.ts';
import { FailureModel, idColumns, type TrainOptions, type TrainReport } from './failure-model.ts';
import type { NetworkConfig } from './network.ts';
import { TrainingSet } from './training-set.ts';

/**
 * Replays cycles in order, each cycle's features from the cycles before it (O(rows)), into a training
 * set; cycles may be streamed (one in memory at a time). Returns the set and the final state.
 */
export function replayCycles(
  cycles: Iterable<Cycle>,
  config: NetworkConfig,
  expectedRows?: number,
): { set: TrainingSet; state: HistoryState; featureMs: number } {
  const t0 = Date.now();
  const state = new HistoryState();
  const set = new TrainingSet(expectedRows);
  for (const cycle of cycles) {
    const queries = cycleQueries(cycle);
    const ctx = cycleContext(cycle);
    const dense = featureMatrix(state, queries, ctx);
    const labels = Uint8Array.from(cycle.pairs, (p) => (p.failed ? 1 : 0));
    set.append({ n: queries.length, dense, ...idColumns(queries, config), labels });
    state.update(cycle);
  }
  return { set, state, featureMs: Date.now() - t0 };
}

/**
 * Replays a history and fits a model on all of it (warm start when `model` is given). Returns the model,
 * the final state (for ranking the next cycle) and timings.
 */
export async function trainOnHistory(
  rows: readonly HistoryRow[],
  options: { network?: Partial<NetworkConfig>; train?: Partial<TrainOptions>; model?: FailureModel } = {},
): Promise<{
  model: FailureModel;
  state: HistoryState;
  report: TrainReport;
  featureMs: number;
  fitMs: number;
}> {
  const model = options.model ?? FailureModel.create(options.network);
  const { set, state, featureMs } = replayCycles(groupCycles(rows), model.config);
  const t1 = Date.now();
  const report = await model.train(set.slice(0, set.n), options.train);
  return { model, state, report, featureMs, fitMs: Date.now() - t1 };
}
