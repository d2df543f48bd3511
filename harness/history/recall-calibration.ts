import { densityOrder, entryRecall } from '../../analysis/evaluation/confidence.ts';
import { isFailure, isOutcome } from '../../analysis/history/row.ts';
import { historyVerdict } from '../protocol/verdict.ts';
import { MIN_ORDER_MS } from '../planner/budget.ts';
import type { FinishedJob } from '../store/history-repo.ts';

/**
 * Where a finished run's failing jobs entered its plan's order, as the predicted recall already reached
 * before them (analysis/evaluation/confidence.ts `entryRecall`): what `--confidence` learns its cut from.
 * The order is the plan's own: the scores and run-time estimates the jobs were planned with, risk per
 * second first. Nothing from a run cut to a budget or a confidence (its skipped jobs never ran, so its
 * failures could only have entered early), nor from jobs planned before scores were kept. Infrastructure
 * errors are neither failures nor passes (analysis/history/row.ts): left out, as the evaluation does.
 */
export function runRecallEntries(jobs: readonly FinishedJob[]): number[] {
  if (jobs.length === 0 || jobs.some((j) => j.runCut)) return [];
  const ran: { score: number; seconds: number; failed: boolean }[] = [];
  for (const j of jobs) {
    const verdict = historyVerdict(j.verdict);
    if (!verdict || !isOutcome(verdict)) continue;
    if (
      j.score === null ||
      j.score === undefined ||
      j.estDurationMs === null ||
      j.estDurationMs === undefined
    )
      return [];
    ran.push({
      score: j.score,
      seconds: Math.max(j.estDurationMs, MIN_ORDER_MS) / 1000,
      failed: isFailure(verdict),
    });
  }
  const failed = ran.filter((r) => r.failed).length;
  if (failed === 0) return [];
  // No positive score: nothing to order by, every failure "entered" at 1 (entryRecall's rule), no sort needed.
  if (!ran.some((r) => r.score > 0)) return new Array<number>(failed).fill(1);
  const scores = ran.map((r) => r.score);
  const entry = entryRecall(
    scores,
    densityOrder(
      scores,
      ran.map((r) => r.seconds),
    ),
  );
  const out: number[] = [];
  ran.forEach((r, i) => {
    if (r.failed) out.push(entry[i]!);
  });
  return out;
}
