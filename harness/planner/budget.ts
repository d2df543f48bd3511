import { densityOrder, entryRecall, type RecallCut } from '../../analysis/evaluation/confidence.ts';

export interface BudgetCandidate {
  score: number;
  estDurationMs: number;
}

/** The shortest run time jobs are ordered by: a 0 ms estimate counts as 100 ms. */
export const MIN_ORDER_MS = 100;

export interface BudgetSelection<T extends BudgetCandidate> {
  selected: T[];
  skipped: { candidate: T; reason: string }[];
  selectedMs: number;
}

/**
 * Picks jobs by risk per second of device time until the budget is spent (greedy knapsack by density,
 * then filling the remainder with whatever still fits), and says for each skipped job why.
 */
export function selectWithinBudget<T extends BudgetCandidate>(
  candidates: readonly T[],
  budgetMs: number,
): BudgetSelection<T> {
  const density = (c: T) => c.score / Math.max(c.estDurationMs, MIN_ORDER_MS);
  const ranked = [...candidates].sort((a, b) => density(b) - density(a));
  const selected: T[] = [];
  const skipped: { candidate: T; reason: string }[] = [];
  let used = 0;
  for (const candidate of ranked) {
    if (used + candidate.estDurationMs <= budgetMs) {
      selected.push(candidate);
      used += candidate.estDurationMs;
    } else {
      const perS = (density(candidate) * 1000).toPrecision(2);
      skipped.push({
        candidate,
        reason: `time budget ${Math.round(budgetMs / 1000)} s: needs ~${Math.round(candidate.estDurationMs / 1000)} s with ${Math.round(
          (budgetMs - used) / 1000,
        )} s left (risk ${perS}/s)`,
      });
    }
  }
  return { selected, skipped, selectedMs: used };
}

/**
 * Selection with stated confidence (`--confidence`): jobs by risk per second, the shortest prefix whose
 * share of the summed failure probabilities (its predicted recall of the failing jobs) reaches the cut.
 * The cut is learned from the lab's earlier runs (`RecallCut`, harness/history/recall-calibration.ts):
 * the predicted recall by which `confidence` of their failing jobs had entered their order. With too few
 * earlier failing jobs to learn it (threshold Infinity) every job is selected; a ranker that keeps no
 * history (`cut` null) is cut at `confidence` itself, uncalibrated; `threshold` is the cut made. The rest are
 * skipped with the reason.
 * The order and the cut are analysis/evaluation/confidence.ts's, whose evaluation reports the recall this
 * reaches on held-out history.
 */
export function selectForConfidence<T extends BudgetCandidate>(
  candidates: readonly T[],
  confidence: number,
  cut: RecallCut | null = null,
): BudgetSelection<T> & { threshold: number } {
  const threshold = cut ? cut.threshold : confidence;
  const how = cut
    ? `the cut at ${(threshold * 100).toFixed(1)}% learned from ${cut.failures} failing jobs of earlier runs`
    : 'uncalibrated';
  const scores = candidates.map((c) => c.score);
  const order = densityOrder(
    scores,
    candidates.map((c) => Math.max(c.estDurationMs, MIN_ORDER_MS) / 1000),
  );
  const entry = entryRecall(scores, order);
  const selected: T[] = [];
  const skipped: { candidate: T; reason: string }[] = [];
  let used = 0;
  for (const i of order) {
    const candidate = candidates[i]!;
    if (entry[i]! < threshold) {
      selected.push(candidate);
      used += candidate.estDurationMs;
    } else
      skipped.push({
        candidate,
        reason: `confidence ${confidence}: the jobs before it reach a predicted recall of ${(entry[i]! * 100).toFixed(1)}% (${how}; risk ${(
          (candidate.score / Math.max(candidate.estDurationMs, MIN_ORDER_MS)) * 1000
        ).toPrecision(2)}/s)`,
      });
  }
  return { selected, skipped, selectedMs: used, threshold };
}
