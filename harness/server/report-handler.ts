import type { LabMetrics } from '../metrics/lab-metrics.ts';
import type { AttemptReport, AttemptStarted, JobPayload } from '../protocol/job.ts';
import { readAttemptReport } from '../queue/attempt-channel.ts';
import type { PoolQueues } from '../queue/pool-queues.ts';
import { failureSignature } from '../results/signature.ts';
import { queuePriority } from '../scheduler/priority.ts';
import { nextStep } from '../scheduler/retry-policy.ts';
import type { JobRow } from '../store/jobs-repo.ts';
import type { RunHeader } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import type { AttemptSpec } from './attempt-payload.ts';
import type { EventBus } from './event-bus.ts';
import type { WriteBatch } from './write-batch.ts';

export interface ReportHandlerDeps {
  store: Store;
  events: EventBus;
  /** Store writes grouped per event-loop turn (one commit). */
  writes: WriteBatch;
  queues: PoolQueues;
  metrics: LabMetrics;
  now: () => number;
  log: (line: string) => void;
  payload(spec: AttemptSpec): JobPayload;
  /** Finishes a run none of whose jobs is open. */
  finishRunIfDone(runId: string): void;
}

interface RetryItem {
  payload: JobPayload;
  priority: number;
  delayMs: number;
}

/**
 * The control plane's side of what agents say about attempts: a start marks its job running; a report is
 * stored once per (job, attempt), then the job's next step follows from all its stored attempts (a retry
 * queued, or its single final verdict), and the run finishes when its last job does.
 */
export class ReportHandler {
  constructor(private readonly deps: ReportHandlerDeps) {}

  /** One read from the report stream (a MalformedMessageError sets it aside as a dead letter). */
  async consume(data: unknown): Promise<void> {
    await this.onReport(readAttemptReport(data));
  }

  /** A start notice: progress only, the report that follows records the attempt (and its start). */
  onStarted(msg: AttemptStarted): void {
    this.deps.writes
      .submit(() => this.recordStarted(msg))
      .catch((err: unknown) => {
        this.deps.log(
          `run ${msg.runId} job ${msg.jobId} attempt ${msg.attempt} device ${msg.deviceId}: start not recorded (its report will be): ${(err as Error).message}`,
        );
      });
  }

  /**
   * Idempotent: the same report delivered twice leads to one attempt row and one decision. Everything it
   * writes is one SQLite transaction (one commit per report); a retry is enqueued after the commit.
   */
  async onReport(report: AttemptReport): Promise<void> {
    let inserted = false;
    const retry = await this.deps.writes.submit(() => {
      const write = this.recordReport(report);
      inserted = write.inserted;
      return write.retry;
    });
    // Committed: counted once per stored attempt (a duplicate delivery inserts nothing).
    if (inserted) this.deps.metrics.attemptStored(report.status, report.error?.kind ?? null);
    if (retry) await this.deps.queues.enqueue(retry.payload, retry.priority, retry.delayMs);
  }

  private recordStarted(msg: AttemptStarted): void {
    const job = this.deps.store.jobs.get(msg.jobId);
    if (!job || job.state === 'done') return;
    this.deps.store.jobs.markRunning(job.id, msg.deviceId);
    this.announceStart(job, msg);
  }

  /**
   * The run is running and listeners hear of the attempt's start. `run` when the caller has read it (a
   * running run is not updated again).
   */
  private announceStart(
    job: JobRow,
    start: { runId: string; attempt: number; deviceId: string | null; agent: string; at: number },
    run?: RunHeader,
  ): void {
    if (run?.status !== 'running') this.deps.store.runs.markStarted(start.runId, start.at);
    this.deps.events.publish(start.runId, 'job.started', {
      jobId: job.id,
      testId: job.testId,
      attempt: start.attempt,
      deviceId: start.deviceId,
      agent: start.agent,
    });
  }

  private recordReport(report: AttemptReport): { retry: RetryItem | null; inserted: boolean } {
    const { store } = this.deps;
    const job = store.jobs.get(report.jobId);
    const run = store.runs.header(report.runId);
    if (!job || !run) return { retry: null, inserted: false };
    if (job.state === 'done') {
      this.recordIfDuplicate(job, report);
      return { retry: null, inserted: false };
    }
    const signature =
      report.error && report.status !== 'passed'
        ? failureSignature(report.error.message, report.error.stack)
        : null;
    const inserted = store.attempts.insert(report, signature?.hash ?? null);
    // Not inserted: the same report delivered again, or another execution of the attempt (see below).
    if (!inserted) this.recordIfDuplicate(job, report);
    if (inserted) {
      // A test shorter than the agent's start notice delay had no start message: its report is both (the
      // job goes from queued to its verdict, or back to queued for a retry, without showing as running).
      if (report.startSent === false) this.announceStart(job, { ...report, at: report.startedAt }, run);
      store.jobs.countAttempt(job.id, report.status === 'error');
    }
    const attempts = store.attempts.summaries(job.id);
    const latest = Math.max(...attempts.map((a) => a.attempt));
    if (report.attempt < latest) return { retry: null, inserted };
    const step = nextStep(attempts, {
      testRetries: job.maxRetries,
      infraRetries: run.request.options.infraRetries,
    });
    if (step.kind === 'retry') {
      if (inserted) {
        this.deps.events.publish(run.id, 'job.retry', {
          jobId: job.id,
          testId: job.testId,
          attempt: step.attempt,
          reason: step.reason,
          delayMs: step.delayMs,
          message: report.error?.message ?? null,
        });
      }
      const payload = this.deps.payload({
        runId: run.id,
        request: run.request,
        jobId: job.id,
        testId: job.testId,
        pool: job.pool,
        attempt: step.attempt,
        timeoutMs: job.timeoutMs,
        avoidDevices: step.avoidDevices,
      });
      return {
        retry: { payload, priority: queuePriority(run.request.priority, job.seq), delayMs: step.delayMs },
        inserted,
      };
    }
    this.finishJob(job, step.verdict, report, signature?.hash ?? null);
    return { retry: null, inserted };
  }

  /**
   * A report of an attempt already stored that comes from another execution (another agent, device or
   * start: a queue job whose lock expired, e.g. in a Redis outage, and that ran again) is not merged into
   * the stored attempt nor dropped: it is recorded as an `attempt.duplicate` event of the run, with its
   * outcome, device, times and artifacts, and logged. The stored attempt stays the one the verdict came
   * from. The same duplicate delivered twice is recorded once.
   */
  private recordIfDuplicate(job: JobRow, report: AttemptReport): void {
    const { store } = this.deps;
    const first = store.attempts.get(job.id, report.attempt);
    if (!first) return; // a job closed without this attempt (cancelled): nothing ran that the store shows
    const same = (e: { agent?: unknown; deviceId?: unknown; startedAt?: unknown }) =>
      e.agent === report.agent &&
      (e.deviceId ?? null) === report.deviceId &&
      e.startedAt === report.startedAt;
    if (same(first)) return; // the stored attempt's own report, delivered again
    // Rare (only after a lost queue lock): reading the run's events to record a duplicate once is fine.
    const recorded = store.events
      .since(job.runId, 0, Number.MAX_SAFE_INTEGER)
      .some(
        (e) =>
          e.type === 'attempt.duplicate' &&
          e.payload['jobId'] === job.id &&
          e.payload['attempt'] === report.attempt &&
          same(e.payload),
      );
    if (recorded) return;
    this.deps.events.publish(job.runId, 'attempt.duplicate', {
      jobId: job.id,
      testId: job.testId,
      attempt: report.attempt,
      deviceId: report.deviceId,
      agent: report.agent,
      status: report.status,
      errorKind: report.error?.kind ?? null,
      message: report.error?.message ?? null,
      startedAt: report.startedAt,
      endedAt: report.endedAt,
      artifacts: report.artifacts.map((a) => ({ id: a.id, name: a.name })),
      stored: {
        deviceId: first.deviceId,
        agent: first.agent,
        status: first.status,
        startedAt: first.startedAt,
      },
    });
    this.deps.log(
      `run ${job.runId} job ${job.id} (${job.testId}) attempt ${report.attempt}: a second execution on ${report.deviceId ?? 'no device'} (${report.agent}, ${report.status}) after the stored one on ${first.deviceId ?? 'no device'} (${first.agent}, ${first.status}); recorded as attempt.duplicate, the verdict stays the stored attempt's`,
    );
  }

  private finishJob(
    job: JobRow,
    verdict: JobRow['verdict'] & string,
    report: AttemptReport,
    signature: string | null,
  ): void {
    const changed = this.deps.store.jobs.finish(job.id, {
      verdict,
      deviceId: report.deviceId,
      durationMs: report.endedAt - report.startedAt,
      signature,
      message: report.error?.message ?? null,
      at: this.deps.now(),
    });
    if (!changed) return;
    this.deps.events.publish(job.runId, 'job.finished', {
      jobId: job.id,
      testId: job.testId,
      pool: job.pool,
      deviceId: report.deviceId,
      verdict,
      attempts: report.attempt,
      durationMs: report.endedAt - report.startedAt,
    });
    this.deps.finishRunIfDone(job.runId);
  }
}
