import { randomBytes } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { MalformedMessageError } from '../errors.ts';
import type { Plan } from '../planner/planner.ts';
import {
  type AttemptReport,
  type AttemptStarted,
  attemptReportSchema,
  attemptStartedSchema,
  type JobPayload,
} from '../protocol/job.ts';
import type { RunRequest, RunRequestInput } from '../protocol/run-request.ts';
import { type LabKeys, labKeys } from '../queue/names.ts';
import { PoolQueues } from '../queue/pool-queues.ts';
import { LabMetrics } from '../metrics/lab-metrics.ts';
import { ReportConsumer, reportStreamLag } from '../queue/report-stream.ts';
import { failureSignature } from '../results/signature.ts';
import { queuePriority } from '../scheduler/priority.ts';
import { nextStep } from '../scheduler/retry-policy.ts';
import { finalRunStatus } from '../scheduler/run-status.ts';
import type { JobRow } from '../store/jobs-repo.ts';
import type { RunHeader, RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { logConnectionErrors } from '../log/connection-errors.ts';
import { EventBus } from './event-bus.ts';
import { IdempotentSubmits, type SubmittedRun } from './idempotent-submits.ts';
import { type HistoryView, type PlanningDeps, planRequest } from './plan-request.ts';
import { RunEnqueuer } from './run-enqueuer.ts';
import { JOB_WRITE_SLICE, writePlannedRun } from './run-writer.ts';
import { WriteBatch } from './write-batch.ts';

export interface ControlPlaneDeps extends PlanningDeps {
  store: Store;
  /** BullMQ connection (maxRetriesPerRequest: null). */
  redis: Redis;
  /** Concurrency cap per partner (jobs running at once); absent = no cap. */
  partnerCaps?: Record<string, number>;
  /** The lab's Redis keys (default prefix `devlab`). */
  keys?: LabKeys;
  now?: () => number;
  /** Where the control plane says what went wrong off a request (queueing retries). */
  log?: (line: string) => void;
}

export interface SubmitOptions {
  /**
   * The new run's attempts go on their queues once this settles (the API passes "the answer was sent"),
   * at most MAX_QUEUE_DEFER_MS later; without it, on the next turn of the event loop.
   */
  queueAfter?: Promise<unknown>;
}

export interface SubmitResult {
  run: RunRow;
  plan: Plan;
}

function newRunId(now: number): string {
  return `run-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/**
 * The control plane: plans runs into the store and the pool queues, consumes attempt reports from agents,
 * decides retries and final verdicts exactly once, and publishes lifecycle events.
 */
export class ControlPlane {
  readonly events: EventBus;
  private readonly queues: PoolQueues;
  private readonly now: () => number;
  private readonly keys: LabKeys;
  private reports: ReportConsumer | null = null;
  private subscriber: Redis | null = null;
  private readonly writes: WriteBatch;
  /** New runs whose first attempts are being queued (see `submit`). */
  private readonly enqueuer: RunEnqueuer;
  private readonly log: (line: string) => void;
  /** This control plane's Prometheus metrics (`GET /metrics`), on a registry of its own. */
  readonly metrics: LabMetrics;
  private redisLogged = false;

  constructor(private readonly deps: ControlPlaneDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.log ?? (() => {});
    this.keys = deps.keys ?? labKeys();
    this.events = new EventBus(deps.store.events, this.now);
    this.queues = new PoolQueues(deps.redis, this.keys);
    this.metrics = new LabMetrics(
      {
        queues: () => this.queues.depths(this.now()),
        reportStream: () => reportStreamLag(deps.redis, this.keys),
      },
      { log: this.log },
    );
    this.enqueuer = new RunEnqueuer(this.queues, this.log);
    // Events of a transaction reach listeners only once it committed (none from one rolled back).
    this.writes = new WriteBatch((writes) => this.events.batch(() => deps.store.transaction(writes)));
  }

  get store(): Store {
    return this.deps.store;
  }

  /** Stores the reports that wait, starts consuming agent reports, and re-enqueues what a previous life left half done. */
  async start(): Promise<void> {
    // The connection's errors (its queues' too: they share it) are logged once per outage, not dropped.
    if (!this.redisLogged) {
      this.redisLogged = true;
      logConnectionErrors(this.deps.redis, 'control plane: Redis', this.log);
    }
    this.subscriber = this.deps.redis.duplicate();
    logConnectionErrors(this.subscriber, 'control plane: Redis subscriber (start notices)', this.log);
    this.subscriber.on('message', (_channel: string, text: string) => {
      try {
        this.consumeStarted(JSON.parse(text));
      } catch (err) {
        // Progress only (the attempt's report records it): a malformed notice is dropped, and said.
        this.log(`start notice dropped (not JSON): ${(err as Error).message}: ${text.slice(0, 200)}`);
      }
    });
    // Counted from the store before any report is consumed: each stored attempt is counted once.
    this.metrics.initAttempts(this.store.attempts);
    await this.subscriber.subscribe(this.keys.startedChannel);
    // Reports of different jobs are independent (one job's attempts arrive one after another): a batch
    // of them is stored in one commit.
    this.reports = new ReportConsumer({
      connection: this.deps.redis,
      keys: this.keys,
      handle: (data) => this.consume(data),
      log: this.log,
    });
    // The reports that arrived while no control plane ran are stored first: recovery then sees every
    // finished attempt and re-enqueues only what is really open.
    await this.reports.start();
    this.recover();
  }

  async stop(): Promise<void> {
    await this.enqueuer.stop();
    await this.reports?.stop();
    this.reports = null;
    // Safe to ignore: a QUIT that fails means the connection is already gone, which is what stop wants.
    await this.subscriber?.quit().catch(() => {});
    this.subscriber = null;
    await this.queues.close();
  }

  /**
   * The plan a run request would get (order, risk and reasons, budget cuts), without creating a run. Its
   * history fields and reasons read the request partner's own results, or `view`'s: an admin's preview
   * passes ALL_PARTNERS to read the whole lab's.
   */
  async preview(input: RunRequestInput, view?: HistoryView): Promise<Plan> {
    return (await planRequest(this.deps, input, view)).plan;
  }

  /** Keyed submits in flight, so that concurrent twins share one run (see idempotent-submits.ts). */
  private readonly keyedSubmits = new IdempotentSubmits(() => this.store);

  /**
   * Plans and queues a run. Its history fields and reasons read only its own partner's results, whoever
   * submits it: the run, its tests and its reasons are stored for that partner to read. With an
   * idempotency key (the client's, unique per partner) a repeat of the same request answers the run the
   * first one created (`replayed`), also while that one is still being planned; the same key with another
   * request is an IdempotencyConflictError.
   */
  async submit(
    input: RunRequestInput,
    idempotencyKey?: string,
    options: SubmitOptions = {},
  ): Promise<SubmittedRun> {
    if (idempotencyKey === undefined) return this.createRun(input, null, options);
    return this.keyedSubmits.submit(input, idempotencyKey, () =>
      this.createRun(input, idempotencyKey, options),
    );
  }

  private async createRun(
    input: RunRequestInput,
    idempotencyKey: string | null,
    options: SubmitOptions,
  ): Promise<SubmitResult> {
    const { request, plan } = await planRequest(this.deps, input);
    const at = this.now();
    const runId = newRunId(at);
    await writePlannedRun(this.store, { id: runId, request, createdAt: at, idempotencyKey }, plan);
    this.events.publish(runId, 'run.created', {
      jobs: plan.jobs.length,
      skipped: plan.jobs.filter((j) => j.skipReason).length,
      unplanned: plan.unplanned.length,
    });
    // The run is stored: the caller is answered now, and the first attempts go on their queues behind the
    // answer (20,000 of them take Redis about a second). Until they are all queued, `queued(runId)` waits
    // for them and a cancel waits first; a control plane that dies meanwhile queues them at start.
    const items = plan.jobs
      .filter((j) => !j.skipReason)
      .map((j) => ({
        payload: this.payload(runId, request, j.jobId, j.testId, j.pool, 1, j.timeoutMs, []),
        priority: queuePriority(request.priority, j.seq),
      }));
    this.enqueuer.queue(runId, items, options.queueAfter);
    this.maybeFinishRun(runId);
    const run = this.store.runs.get(runId)!;
    // The caller's answer (a 20,000-job body) is built on its own turn of the event loop.
    if (plan.jobs.length > JOB_WRITE_SLICE) await setImmediate();
    return { run, plan };
  }

  /** Resolves once every new run's first attempts are on their queues. */
  async allQueued(): Promise<void> {
    await this.enqueuer.allQueued();
  }

  /** Resolves once every first attempt of the run is on its queue (at once for a run queued earlier). */
  async queued(runId: string): Promise<void> {
    await this.enqueuer.queued(runId);
  }

  /** Removes a run's queued attempts, tells agents to stop its running ones, and closes its open jobs. */
  async cancel(runId: string): Promise<RunRow | undefined> {
    // Attempts still being queued would be queued after the removal below: let them arrive first.
    await this.queued(runId);
    const run = this.store.runs.get(runId);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return run;
    const open = this.store.jobs.openJobs(runId);
    await this.deps.redis.publish(this.keys.cancelChannel, runId);
    for (const job of open) await this.queues.remove(job.pool, job.id, job.attempts + 1);
    const at = this.now();
    this.store.jobs.cancelOpen(runId, at);
    if (this.store.runs.finish(runId, 'cancelled', at))
      this.events.publish(runId, 'run.cancelled', { jobs: open.length });
    return this.store.runs.get(runId);
  }

  private payload(
    runId: string,
    request: RunRequest,
    jobId: string,
    testId: string,
    pool: string,
    attempt: number,
    timeoutMs: number,
    avoidDevices: string[],
  ): JobPayload {
    return {
      runId,
      jobId,
      testId,
      pool,
      partner: request.partner,
      attempt,
      timeoutMs,
      avoidDevices,
      limits: {
        partner: this.deps.partnerCaps?.[request.partner] ?? null,
        run: request.options.maxParallel ?? null,
      },
    };
  }

  private consumeStarted(data: unknown): void {
    const started = attemptStartedSchema.safeParse(data);
    if (started.success) this.onStarted(started.data);
    else
      this.log(
        `start notice dropped (malformed, the attempt's report records it): ${started.error.issues[0]?.message}`,
      );
  }

  private async consume(data: unknown): Promise<void> {
    const report = attemptReportSchema.safeParse(data);
    // A malformed message is set aside (the dead-letter stream, for inspection), never retried forever.
    if (!report.success)
      throw new MalformedMessageError(`malformed attempt report: ${report.error.issues[0]?.message}`);
    await this.onReport(report.data);
  }

  private onStarted(msg: AttemptStarted): void {
    this.writes
      .submit(() => this.recordStarted(msg))
      .catch((err: unknown) => {
        // Progress only: the report that follows records the attempt (and its start).
        this.log(
          `run ${msg.runId} job ${msg.jobId} attempt ${msg.attempt} device ${msg.deviceId}: start not recorded (its report will be): ${(err as Error).message}`,
        );
      });
  }

  private recordStarted(msg: AttemptStarted): void {
    const job = this.store.jobs.get(msg.jobId);
    if (!job || job.state === 'done') return;
    this.store.jobs.markRunning(job.id, msg.deviceId);
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
    if (run?.status !== 'running') this.store.runs.markStarted(start.runId, start.at);
    this.events.publish(start.runId, 'job.started', {
      jobId: job.id,
      testId: job.testId,
      attempt: start.attempt,
      deviceId: start.deviceId,
      agent: start.agent,
    });
  }

  /**
   * Idempotent: the same report delivered twice leads to one attempt row and one decision. Everything it
   * writes is one SQLite transaction (one commit per report); a retry is enqueued after the commit.
   */
  async onReport(report: AttemptReport): Promise<void> {
    let inserted = false;
    const retry = await this.writes.submit(() => {
      const write = this.recordReport(report);
      inserted = write.inserted;
      return write.retry;
    });
    // Committed: counted once per stored attempt (a duplicate delivery inserts nothing).
    if (inserted) this.metrics.attemptStored(report.status, report.error?.kind ?? null);
    if (retry) await this.queues.enqueue(retry.payload, retry.priority, retry.delayMs);
  }

  private recordReport(report: AttemptReport): {
    retry: { payload: JobPayload; priority: number; delayMs: number } | null;
    inserted: boolean;
  } {
    const job = this.store.jobs.get(report.jobId);
    const run = this.store.runs.header(report.runId);
    if (!job || !run) return { retry: null, inserted: false };
    if (job.state === 'done') {
      this.recordIfDuplicate(job, report);
      return { retry: null, inserted: false };
    }
    const signature =
      report.error && report.status !== 'passed'
        ? failureSignature(report.error.message, report.error.stack)
        : null;
    const inserted = this.store.attempts.insert(report, signature?.hash ?? null);
    // Not inserted: the same report delivered again, or another execution of the attempt (see below).
    if (!inserted) this.recordIfDuplicate(job, report);
    if (inserted) {
      // A test shorter than the agent's start notice delay had no start message: its report is both (the
      // job goes from queued to its verdict, or back to queued for a retry, without showing as running).
      if (report.startSent === false) this.announceStart(job, { ...report, at: report.startedAt }, run);
      this.store.jobs.countAttempt(job.id, report.status === 'error');
    }
    const attempts = this.store.attempts.summaries(job.id);
    const latest = Math.max(...attempts.map((a) => a.attempt));
    if (report.attempt < latest) return { retry: null, inserted };
    const step = nextStep(attempts, {
      testRetries: job.maxRetries,
      infraRetries: run.request.options.infraRetries,
    });
    if (step.kind === 'retry') {
      if (inserted) {
        this.events.publish(run.id, 'job.retry', {
          jobId: job.id,
          testId: job.testId,
          attempt: step.attempt,
          reason: step.reason,
          delayMs: step.delayMs,
          message: report.error?.message ?? null,
        });
      }
      const payload = this.payload(
        run.id,
        run.request,
        job.id,
        job.testId,
        job.pool,
        step.attempt,
        job.timeoutMs,
        step.avoidDevices,
      );
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
    const first = this.store.attempts.get(job.id, report.attempt);
    if (!first) return; // a job closed without this attempt (cancelled): nothing ran that the store shows
    const same = (e: { agent?: unknown; deviceId?: unknown; startedAt?: unknown }) =>
      e.agent === report.agent &&
      (e.deviceId ?? null) === report.deviceId &&
      e.startedAt === report.startedAt;
    if (same(first)) return; // the stored attempt's own report, delivered again
    // Rare (only after a lost queue lock): reading the run's events to record a duplicate once is fine.
    const recorded = this.store.events
      .since(job.runId, 0, Number.MAX_SAFE_INTEGER)
      .some(
        (e) =>
          e.type === 'attempt.duplicate' &&
          e.payload['jobId'] === job.id &&
          e.payload['attempt'] === report.attempt &&
          same(e.payload),
      );
    if (recorded) return;
    this.events.publish(job.runId, 'attempt.duplicate', {
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
    this.log(
      `run ${job.runId} job ${job.id} (${job.testId}) attempt ${report.attempt}: a second execution on ${report.deviceId ?? 'no device'} (${report.agent}, ${report.status}) after the stored one on ${first.deviceId ?? 'no device'} (${first.agent}, ${first.status}); recorded as attempt.duplicate, the verdict stays the stored attempt's`,
    );
  }

  private finishJob(
    job: JobRow,
    verdict: JobRow['verdict'] & string,
    report: AttemptReport,
    signature: string | null,
  ): void {
    const at = this.now();
    const changed = this.store.jobs.finish(job.id, {
      verdict,
      deviceId: report.deviceId,
      durationMs: report.endedAt - report.startedAt,
      signature,
      message: report.error?.message ?? null,
      at,
    });
    if (!changed) return;
    this.events.publish(job.runId, 'job.finished', {
      jobId: job.id,
      testId: job.testId,
      pool: job.pool,
      deviceId: report.deviceId,
      verdict,
      attempts: report.attempt,
      durationMs: report.endedAt - report.startedAt,
    });
    this.maybeFinishRun(job.runId);
  }

  private maybeFinishRun(runId: string): void {
    if (this.store.jobs.hasOpen(runId)) return;
    const verdicts = this.store.jobs.listByRun(runId).map((j) => j.verdict!);
    const status = finalRunStatus(verdicts, false);
    if (this.store.runs.finish(runId, status, this.now())) {
      this.events.publish(runId, 'run.finished', { status, counts: this.store.jobs.verdictCounts(runId) });
    }
  }

  /**
   * After a restart: runs left half written are removed, and every open job of an unfinished run gets its
   * next attempt (re)enqueued behind the start (`allQueued` waits for it); duplicates are no-ops.
   */
  private recover(): void {
    this.store.runs.removeUnplanned();
    for (const run of this.store.runs.list({ status: ['queued', 'running'], limit: 1000 })) {
      const items = this.store.jobs.openJobs(run.id).map((job) => ({
        payload: this.payload(
          run.id,
          run.request,
          job.id,
          job.testId,
          job.pool,
          job.attempts + 1,
          job.timeoutMs,
          [],
        ),
        priority: queuePriority(run.request.priority, job.seq),
      }));
      // Queued behind the start, as a new run's attempts are (a restart under a big backlog serves at once).
      this.enqueuer.queue(run.id, items);
      this.maybeFinishRun(run.id);
    }
  }
}
