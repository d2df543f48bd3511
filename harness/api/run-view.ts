import type { Triage } from '../../analysis/triage/triage.ts';
import type { Verdict } from '../protocol/verdict.ts';
import type { DeviceCounts, JobRow } from '../store/jobs-repo.ts';
import { isRunOver, type RunRow, type RunStatus } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import type { AttemptRow } from '../store/attempts-repo.ts';
import type { DuplicateExecutionView, JobView, RunView, SameKeys } from './schemas.ts';

// Every column of a job and an attempt row is shown: one added to them must be added to the schema too.
const jobColumnsShown: SameKeys<
  JobRow,
  Omit<JobView, 'attemptsDetail' | 'artifacts' | 'cases' | 'triage' | 'duplicates'>
> = true;
const attemptColumnsShown: SameKeys<AttemptRow, JobView['attemptsDetail'][number]> = true;
void [jobColumnsShown, attemptColumnsShown];

/**
 * Failure triage of a run's failed jobs, by job id (harness/history/lab-history.ts `triageRun`): new,
 * known, flaky on the device, or infrastructure, with the evidence.
 */
export type RunTriageProvider = (
  run: Pick<RunRow, 'id' | 'partner' | 'status' | 'request'>,
  jobs: readonly JobRow[],
) => ReadonlyMap<string, Triage>;

/** Spinnaker's webhook stage polls for a status that maps onto running / succeeded / terminal. */
export function pipelineStatus(status: RunStatus): 'RUNNING' | 'SUCCEEDED' | 'TERMINAL' {
  if (status === 'planning' || status === 'queued' || status === 'running') return 'RUNNING';
  return status === 'passed' ? 'SUCCEEDED' : 'TERMINAL';
}

/** A run's job counts as the API shows them: by verdict ('pending' while open) and by device. */
export interface RunCounts {
  counts: Partial<Record<Verdict | 'pending', number>>;
  devices: Record<string, DeviceCounts>;
}

/**
 * The counts of a run just planned, from its plan: every job is queued on its pool (no device yet), or was
 * skipped at planning. What the store would answer, without reading 20,000 rows back on the submit's turn.
 */
export function plannedCounts(jobs: readonly { pool: string; skipReason?: string | undefined }[]): RunCounts {
  const counts: RunCounts['counts'] = {};
  const devices: RunCounts['devices'] = {};
  for (const job of jobs) {
    const skipped = job.skipReason !== undefined;
    const verdict = skipped ? 'skipped' : 'pending';
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    let d = devices[job.pool];
    if (!d) {
      d = { done: 0, failed: 0, errors: 0, total: 0 };
      devices[job.pool] = d;
    }
    d.total++;
    if (skipped) d.done++;
  }
  return { counts, devices };
}

/** A run as the API shows it; every field is named here and in `runViewSchema`. */
export function runView(
  store: Store,
  run: RunRow,
  { counts, devices }: RunCounts = {
    counts: store.jobs.verdictCounts(run.id),
    devices: store.jobs.deviceCounts(run.id),
  },
): RunView {
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
    counts: counts as Record<string, number>,
    total,
    devices,
    plan: run.plan as RunView['plan'],
  };
}

/**
 * A job with its attempts, artifacts, test cases and, when it failed, its triage; every field is named
 * here and in `jobViewSchema`.
 */
export function jobView(
  store: Store,
  job: JobRow,
  triage: Triage | null = null,
  /** Its executions beyond the stored attempts (`duplicateExecutions` of the run). */
  duplicates: DuplicateExecutionView[] = [],
): JobView {
  return {
    id: job.id,
    runId: job.runId,
    seq: job.seq,
    testId: job.testId,
    pool: job.pool,
    deviceModel: job.deviceModel,
    deviceFirmware: job.deviceFirmware,
    devicePlatform: job.devicePlatform,
    component: job.component,
    score: job.score,
    reasons: job.reasons,
    estDurationMs: job.estDurationMs,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    state: job.state,
    verdict: job.verdict,
    deviceId: job.deviceId,
    attempts: job.attempts,
    infraAttempts: job.infraAttempts,
    durationMs: job.durationMs,
    signature: job.signature,
    message: job.message,
    skipReason: job.skipReason,
    finishedAt: job.finishedAt,
    attemptsDetail: store.attempts.listByJob(job.id),
    artifacts: store.artifacts.listByJob(job.id).map((a) => ({
      id: a.id,
      attempt: a.attempt,
      name: a.name,
      contentType: a.contentType,
      size: a.size,
      url: `/api/artifacts/${a.id}`,
      // A lost artifact (the agent had to drop it) is listed with why, so the missing evidence shows.
      state: a.state,
      reason: a.reason,
    })),
    cases: job.attempts > 0 ? store.attempts.casesOf(job.id, job.attempts) : [],
    triage,
    duplicates,
  };
}
