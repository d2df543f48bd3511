import { densityOrder, entryRecall } from '../../analysis/evaluation/confidence.ts';

export interface BudgetCandidate {
  score: number;
  estDurationMs: number;
}

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
  const density = (c: T) => c.score / Math.max(c.estDurationMs, 100);
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
 * Selection with stated confidence (`--confidence`): jobs by risk per second until the selected jobs'
 * share of the summed failure probabilities (their predicted recall of the failing jobs) reaches
 * `confidence`; the rest are skipped with the reason. The order and the cut are
 * analysis/evaluation/confidence.ts's; the evaluation reports the recall this reached on held-out history.
 */
export function selectForConfidence<T extends BudgetCandidate>(
  candidates: readonly T[],
  confidence: number,
): BudgetSelection<T> {
  const scores = candidates.map((c) => c.score);
  const order = densityOrder(
    scores,
    candidates.map((c) => Math.max(c.estDurationMs, 100) / 1000),
  );
  const entry = entryRecall(scores, order);
  const selected: T[] = [];
  const skipped: { candidate: T; reason: string }[] = [];
  let used = 0;
  for (const i of order) {
    const candidate = candidates[i]!;
    if (entry[i]! < confidence) {
      selected.push(candidate);
      used += candidate.estDurationMs;
    } else
      skipped.push({
        candidate,
        reason: `confidence ${confidence}: the jobs before it reach a predicted recall of ${(entry[i]! * 100).toFixed(1)}% (risk ${(
          (candidate.score / Math.max(candidate.estDurationMs, 100)) * 1000
        ).toPrecision(2)}/s)`,
      });
  }
  return { selected, skipped, selectedMs: used };
}
