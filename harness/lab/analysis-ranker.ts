import { HistoryState } from '../../analysis/features/state.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import type { FailureModel } from '../../analysis/model/failure-model.ts';
import { rankedBy, scorePairs } from '../../analysis/ranking/rank.ts';
import { explainPair } from '../../analysis/ranking/reasons.ts';
import type { Ranker, RankPair, RankScore } from '../planner/ranker.ts';
import type { FinishedJob } from '../store/history-repo.ts';
import { historyRows } from './history-rows.ts';

/** Pairs explained in detail; the rest get a score only (reasons cost more than scores). */
const EXPLAIN_TOP = 200;

/**
 * The planner's ranker: the analysis model's failure probability for each pair, from the lab history
 * in the store; until a model is trained and trusted, the pairs' failure record (decayed failures),
 * then their novelty (analysis/ranking/rank.ts).
 */
export function analysisRanker(jobs: readonly FinishedJob[], model: FailureModel | null): Ranker {
  const state = new HistoryState();
  for (const cycle of groupCycles(historyRows(jobs))) state.update(cycle);
  return {
    name: rankedBy(model),
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
