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
