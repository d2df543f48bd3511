import { setImmediate } from 'node:timers/promises';
import type { Plan } from '../planner/planner.ts';
import type { RunRequest } from '../protocol/run-request.ts';
import type { Store } from '../store/store.ts';

/** Jobs of a new run written per commit. */
export const JOB_WRITE_SLICE = 2000;

/**
 * Writes a planned run: the run as `planning`, then its jobs in slices of JOB_WRITE_SLICE, one commit
 * each, with the event loop free in between (reports keep being stored), then the run `queued`. A
 * control plane that died meanwhile removes the `planning` run at start: nothing of it was queued or
 * answered.
 */
export async function writePlannedRun(
  store: Store,
  run: { id: string; request: RunRequest; createdAt: number; idempotencyKey: string | null },
  plan: Plan,
): Promise<void> {
  store.runs.insert({
    ...run,
    status: 'planning',
    plan: {
      pools: plan.pools,
      unplanned: plan.unplanned,
      ranker: plan.ranker,
      budget: plan.budget ?? null,
      confidence: plan.confidence ?? null,
    },
  });
  const sliced = plan.jobs.length > JOB_WRITE_SLICE;
  for (let i = 0; i < plan.jobs.length; i += JOB_WRITE_SLICE) {
    const slice = plan.jobs.slice(i, i + JOB_WRITE_SLICE);
    store.jobs.insertMany(
      slice.map((j) => ({ ...j, id: j.jobId, runId: run.id })),
      run.createdAt,
    );
    if (sliced) await setImmediate();
  }
  store.runs.markPlanned(run.id);
}
