import { setImmediate } from 'node:timers/promises';
import type { RecallCut } from '../../analysis/evaluation/confidence.ts';
import type { CycleContext, HistoryState } from '../../analysis/features/state.ts';
import type { FailureModel } from '../../analysis/model/failure-model.ts';
import { rankedBy, rankOrder, scorePairs } from '../../analysis/ranking/rank.ts';
import { explainPair } from '../../analysis/ranking/reasons.ts';
import type { Ranker, RankPair, RankScore } from '../planner/ranker.ts';
import { type ComponentMap, changedComponents, componentMatcher } from './change-components.ts';
import { ALL_PARTNERS } from '../protocol/all-partners.ts';

/** Pairs explained in detail; the rest get a score only (reasons cost more than scores). */
const EXPLAIN_TOP = 200;
/** Pairs scored per turn of the event loop. */
const SLICE = 4096;

/** The model a ranking scores with: one saved version, never one being trained. */
export interface ActiveModel {
  model: FailureModel;
  version: string;
}

/** Where a ranking reads from: the history state (held still while it scores) and one model version. */
export interface RankingSource {
  /** The lab-wide state the scores come from. */
  state: HistoryState;
  /**
   * The state the reasons read by `partner` are explained from (its own runs; the lab's with
   * ALL_PARTNERS). Without it, a source explains from `state` only for ALL_PARTNERS and gives a partner
   * no reasons.
   */
  reasonState?(partner: string): HistoryState;
  /** Keeps the states as they are until the release is called (harness/history/lab-history.ts). */
  hold?(): () => void;
  /** Where `--confidence` cuts, learned from earlier runs (harness/history/recall-calibration.ts). */
  recallCut?(confidence: number): RecallCut;
}

/** The state `partner`'s reasons come from, or null when the source cannot tell its own results apart. */
function reasonStateOf(source: RankingSource, partner: string): HistoryState | null {
  if (source.reasonState) return source.reasonState(partner);
  return partner === ALL_PARTNERS ? source.state : null;
}

/**
 * The planner's ranker over the lab history's incremental state (harness/history/lab-history.ts): the
 * model's failure probability for each pair once the model is trusted; until then the pairs' failure
 * record (decayed failures), then their novelty (analysis/ranking/rank.ts). Scores read the lab-wide
 * state; reasons read the state of the partner the plan is for (`context.historyPartner`): a partner is
 * never told of another partner's results. It scores with the one model
 * version it was handed (training swaps versions only after saving a new one, and a version in use is not
 * freed), in slices of SLICE pairs with the event loop turning in between, against a state held still from
 * the first slice to the last. Its name says which version scored.
 */
export function historyRanker(
  source: RankingSource,
  active: ActiveModel | null,
  options: { onDone?: () => void; components?: ComponentMap } = {},
): Ranker {
  const model = active?.model ?? null;
  const match = options.components ? componentMatcher(options.components) : undefined;
  const by = rankedBy(model);
  const recallCut = source.recallCut?.bind(source);
  return {
    name: active && by === 'model' ? `model ${active.version}` : by,
    ...(recallCut ? { recallCut } : {}),
    async score(pairs: readonly RankPair[], context): Promise<RankScore[]> {
      const release = source.hold?.() ?? (() => {});
      try {
        const state = source.state;
        const explainFrom = reasonStateOf(source, context.historyPartner);
        const queries = pairs.map((p) => ({
          test: p.testId,
          device: p.deviceId,
          deviceModel: p.model,
          firmware: p.firmware,
          component: p.component,
        }));
        const changed = changedComponents(context.changedComponents, context.change?.changedPaths, match);
        const ctx: CycleContext = { timeMs: Date.now(), changed };
        if (context.baseBuild) ctx.baseBuild = context.baseBuild;
        const scores = new Float64Array(queries.length);
        for (let i = 0; i < queries.length; i += SLICE) {
          if (i > 0) await setImmediate();
          scores.set(scorePairs(state, model, queries.slice(i, i + SLICE), ctx), i);
        }
        // Which pairs are explained never depends on the order they came in (ties: a seeded hash).
        const top = new Set(rankOrder(state, scores, queries).slice(0, EXPLAIN_TOP));
        return queries.map((q, i) => ({
          probability: scores[i]!,
          reasons: explainFrom && top.has(i) ? explainPair(explainFrom, q, ctx) : [],
        }));
      } finally {
        release();
        options.onDone?.();
      }
    },
  };
}
