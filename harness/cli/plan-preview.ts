import type { PlanPreview } from '../api/schemas.ts';

/** The plan a run would get, as lines: order, devices, risk and the first reason; budget cuts last. */
export function formatPlanPreview(plan: PlanPreview): string {
  const run = plan.jobs.filter((j) => j.skipReason === null);
  const skipped = plan.jobs.filter((j) => j.skipReason !== null);
  const lines = [`plan: ${run.length} job(s) ordered by ${plan.ranker} (dry run: nothing was queued)`];
  for (const j of run)
    lines.push(
      `  ${j.seq + 1}. ${j.testId} on ${j.devices.join('/') || j.pool} — risk ${j.score.toFixed(2)}` +
        `${j.reasons[0] ? ` (${j.reasons[0]})` : ''}, ~${Math.round(j.estDurationMs / 1000)} s`,
    );
  if (plan.budget)
    lines.push(
      `budget ${plan.budget.budgetS} s: ${plan.budget.selectedS} s selected, ${plan.budget.skippedJobs} job(s) left out`,
    );
  const c = plan.confidence;
  if (c)
    lines.push(
      `confidence ${c.confidence}: ${
        c.calibratedOn === null
          ? `cut at a predicted recall of ${(c.confidence * 100).toFixed(1)}% (uncalibrated)`
          : c.cutAt === null
            ? `every job runs: ${c.calibratedOn} failing job(s) in earlier runs, too few to learn a cut`
            : `cut at a predicted recall of ${(c.cutAt * 100).toFixed(1)}%, learned from ${c.calibratedOn} failing jobs of earlier runs`
      }; ${c.selectedS} s selected, ${c.skippedJobs} job(s) left out`,
    );
  for (const j of skipped)
    lines.push(`  skipped: ${j.testId} on ${j.devices.join('/') || j.pool}: ${j.skipReason}`);
  for (const u of plan.unplanned) lines.push(`not planned: ${u.testId}: ${u.reasons.join('; ')}`);
  return `${lines.join('\n')}\n`;
}
