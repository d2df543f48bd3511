import { queuePriority } from '../scheduler/priority.ts';
import type { Store } from '../store/store.ts';
import type { AttemptSpec } from './attempt-payload.ts';
import type { JobPayload } from '../protocol/job.ts';
import type { RunEnqueuer } from './run-enqueuer.ts';

export interface RecoveryDeps {
  store: Store;
  enqueuer: RunEnqueuer;
  payload(spec: AttemptSpec): JobPayload;
  /** Finishes a run none of whose jobs is open. */
  finishRunIfDone(runId: string): void;
}

/** Unfinished runs looked at by one recovery (the newest first). */
const RECOVERED_RUNS = 1000;

/**
 * After a restart: runs left half written (`planning`) are removed, and every open job of an unfinished
 * run gets its next attempt (re)enqueued behind the start, as a new run's attempts are (a restart under a
 * big backlog serves at once; `RunEnqueuer.allQueued` waits for it); duplicates are no-ops, attempt ids
 * being deterministic. A run with no open job left is finished.
 */
export function recoverOpenRuns(deps: RecoveryDeps): void {
  const { store } = deps;
  store.runs.removeUnplanned();
  for (const run of store.runs.list({ status: ['queued', 'running'], limit: RECOVERED_RUNS })) {
    const items = store.jobs.openJobs(run.id).map((job) => ({
      payload: deps.payload({
        runId: run.id,
        request: run.request,
        jobId: job.id,
        testId: job.testId,
        pool: job.pool,
        attempt: job.attempts + 1,
        timeoutMs: job.timeoutMs,
        avoidDevices: [],
      }),
      priority: queuePriority(run.request.priority, job.seq),
    }));
    deps.enqueuer.queue(run.id, items);
    deps.finishRunIfDone(run.id);
  }
}
