import { finalRunStatus } from '../scheduler/run-status.ts';
import type { Store } from '../store/store.ts';
import type { EventBus } from './event-bus.ts';

/**
 * A run finishes once none of its jobs is open: its final status from its jobs' verdicts, stored once and
 * published as `run.finished` (a run already final is left as it is).
 */
export function finishRunIfDone(store: Store, events: EventBus, runId: string, at: number): void {
  if (store.jobs.hasOpen(runId)) return;
  const verdicts = store.jobs.listByRun(runId).map((j) => j.verdict!);
  const status = finalRunStatus(verdicts, false);
  if (store.runs.finish(runId, status, at))
    events.publish(runId, 'run.finished', { status, counts: store.jobs.verdictCounts(runId) });
}
