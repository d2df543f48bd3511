import type { JobRow } from '../store/jobs-repo.ts';
import { isRunOver, type RunRow, type RunStatus } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';

/** Spinnaker's webhook stage polls for a status that maps onto running / succeeded / terminal. */
export function pipelineStatus(status: RunStatus): 'RUNNING' | 'SUCCEEDED' | 'TERMINAL' {
  if (status === 'planning' || status === 'queued' || status === 'running') return 'RUNNING';
  return status === 'passed' ? 'SUCCEEDED' : 'TERMINAL';
}

export function runView(store: Store, run: RunRow) {
  const counts = store.jobs.verdictCounts(run.id);
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  return {
    id: run.id,
    partner: run.partner,
    priority: run.priority,
    build: run.build,
    status: run.status,
    pipelineStatus: pipelineStatus(run.status),
    done: isRunOver(run.status),
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    request: run.request,
    counts,
    total,
    devices: store.jobs.deviceCounts(run.id),
    plan: run.plan,
  };
}

export function jobView(store: Store, job: JobRow) {
  return {
    ...job,
    attemptsDetail: store.attempts.listByJob(job.id),
    artifacts: store.artifacts.listByJob(job.id).map((a) => ({
      id: a.id,
      attempt: a.attempt,
      name: a.name,
      contentType: a.contentType,
      size: a.size,
      url: `/api/artifacts/${a.id}`,
    })),
    cases: job.attempts > 0 ? store.attempts.casesOf(job.id, job.attempts) : [],
  };
}
