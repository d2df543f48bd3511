import type { HistoryState } from '../../analysis/features/state.ts';
import type { FailureModel } from '../../analysis/model/failure-model.ts';
import { rankedBy, scorePairs } from '../../analysis/ranking/rank.ts';
import { explainPair } from '../../analysis/ranking/reasons.ts';
import type { Ranker, RankPair, RankScore } from '../planner/ranker.ts';

/** Pairs explained in detail; the rest get a score only (reasons cost more than scores). */
const EXPLAIN_TOP = 200;

/** The model a ranking scores with: one saved version, never one being trained. */
export interface ActiveModel {
  model: FailureModel;
  version: string;
}

/**
 * The planner's ranker over the lab history's incremental state (harness/history/lab-history.ts): the
 * model's failure probability for each pair once the model is trusted; until then the pairs' failure
 * record (decayed failures), then their novelty (analysis/ranking/rank.ts). The model is the one active
 * version handed in: a training swaps the active version only after it saved a new one, so a ranking
 * never sees half-updated weights, and its name says which version scored it.
 */
export function historyRanker(state: HistoryState, active: ActiveModel | null): Ranker {
  const model = active?.model ?? null;
  const by = rankedBy(model);
  return {
    name: active && by === 'model' ? `model ${active.version}` : by,
    score(pairs: readonly RankPair[], context): RankScore[] {
      const queries = pairs.map((p) => ({
        test: p.testId,
        device: p.deviceId,
        deviceModel: p.model,
        firmware: p.firmware,
        component: p.component,
      }));
      const ctx = { timeMs: Date.now(), changed: context.changedComponents };
      const scores = scorePairs(state, model, queries, ctx);
      const top = new Set(
        Array.from(scores.keys())
          .sort((a, b) => scores[b]! - scores[a]!)
          .slice(0, EXPLAIN_TOP),
      );
      return queries.map((q, i) => ({
        probability: scores[i]!,
        reasons: top.has(i) ? explainPair(state, q, ctx) : [],
      }));
    },
  };
}
