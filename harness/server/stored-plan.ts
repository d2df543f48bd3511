import { z } from 'zod';
import { planConfidenceSchema } from '../planner/plan-confidence.ts';
import type { Plan } from '../planner/planner.ts';
import type { RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';

/** What `ControlPlane.submit` keeps of a plan on the run row (the jobs are rows of their own). */
const savedPlanSchema = z.object({
  pools: z.record(z.string(), z.array(z.string())),
  unplanned: z.array(z.object({ testId: z.string(), reasons: z.array(z.string()) })),
  ranker: z.string(),
  budget: z.object({ budgetS: z.number(), selectedS: z.number(), skippedJobs: z.number() }).nullable(),
  /** Since `--confidence` kept its cut: absent on older runs. */
  confidence: planConfidenceSchema.nullable().optional(),
});

/** A stored run's plan as it was planned: the saved pools, unplanned tests, budget and confidence cut, the jobs in order. */
export function storedPlan(store: Store, run: RunRow): Plan {
  const saved = savedPlanSchema.parse(run.plan);
  return {
    pools: saved.pools,
    unplanned: saved.unplanned,
    ranker: saved.ranker,
    ...(saved.budget ? { budget: saved.budget } : {}),
    ...(saved.confidence ? { confidence: saved.confidence } : {}),
    jobs: store.jobs.listByRun(run.id).map((j) => ({
      jobId: j.id,
      testId: j.testId,
      pool: j.pool,
      deviceModel: j.deviceModel,
      deviceFirmware: j.deviceFirmware,
      devicePlatform: j.devicePlatform,
      component: j.component,
      seq: j.seq,
      score: j.score ?? 0,
      reasons: j.reasons,
      estDurationMs: j.estDurationMs ?? 0,
      maxRetries: j.maxRetries,
      timeoutMs: j.timeoutMs,
      ...(j.skipReason ? { skipReason: j.skipReason } : {}),
    })),
  };
}
