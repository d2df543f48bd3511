import { randomBytes } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { logConnectionErrors } from '../log/connection-errors.ts';
import { LabMetrics } from '../metrics/lab-metrics.ts';
import type { Plan } from '../planner/planner.ts';
import type { AttemptReport } from '../protocol/job.ts';
import type { RunRequestInput } from '../protocol/run-request.ts';
import { listenForStarts } from '../queue/attempt-channel.ts';
import { type LabKeys, labKeys } from '../queue/names.ts';
import { PoolQueues } from '../queue/pool-queues.ts';
import { ReportConsumer, reportStreamLag } from '../queue/report-stream.ts';
import { queuePriority } from '../scheduler/priority.ts';
import type { RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { type AttemptSpec, attemptPayload } from './attempt-payload.ts';
import { EventBus } from './event-bus.ts';
import { IdempotentSubmits, type SubmitResult, type SubmittedRun } from './idempotent-submits.ts';
import { type HistoryView, type PlanningDeps, planRequest } from './plan-request.ts';
import { recoverOpenRuns } from './recovery.ts';
import { ReportHandler } from './report-handler.ts';
import { RunEnqueuer } from './run-enqueuer.ts';
import { finishRunIfDone } from './run-finish.ts';
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
  /** A test's catalog content hash, carried by its attempts so agents run only that body (see agent/test-body.ts). */
  testHash?(testId: string): string | undefined;
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
  /** New runs whose first attempts are being queued (see `submit`). */
  private readonly enqueuer: RunEnqueuer;
  /** What agents say about attempts: starts and reports. */
  private readonly reportHandler: ReportHandler;
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
    this.reportHandler = new ReportHandler({
      store: deps.store,
      events: this.events,
      // Events of a transaction reach listeners only once it committed (none from one rolled back).
      writes: new WriteBatch((writes) => this.events.batch(() => deps.store.transaction(writes))),
      queues: this.queues,
      metrics: this.metrics,
      now: this.now,
      log: this.log,
      payload: (spec) => this.payload(spec),
      finishRunIfDone: (runId) => this.maybeFinishRun(runId),
    });
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
    // Counted from the store before any report is consumed: each stored attempt is counted once.
    this.metrics.initAttempts(this.store.attempts);
    this.subscriber = this.deps.redis.duplicate();
    await listenForStarts(
      this.subscriber,
      this.keys,
      (start) => this.reportHandler.onStarted(start),
      this.log,
    );
    // Reports of different jobs are independent (one job's attempts arrive one after another): a batch
    // of them is stored in one commit.
    this.reports = new ReportConsumer({
      connection: this.deps.redis,
      keys: this.keys,
      handle: (data) => this.reportHandler.consume(data),
      log: this.log,
    });
    // The reports that arrived while no control plane ran are stored first: recovery then sees every
    // finished attempt and re-enqueues only what is really open.
    await this.reports.start();
    recoverOpenRuns({
      store: this.store,
      enqueuer: this.enqueuer,
      payload: (spec) => this.payload(spec),
      finishRunIfDone: (runId) => this.maybeFinishRun(runId),
    });
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
        payload: this.payload({
          runId,
          request,
          jobId: j.jobId,
          testId: j.testId,
          pool: j.pool,
          attempt: 1,
          timeoutMs: j.timeoutMs,
          avoidDevices: [],
        }),
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

  /**
   * Idempotent: the same report delivered twice leads to one attempt row and one decision (see
   * report-handler.ts). Agents' reports come through the report stream; tests call it directly.
   */
  async onReport(report: AttemptReport): Promise<void> {
    await this.reportHandler.onReport(report);
  }

  private payload(spec: AttemptSpec) {
    return attemptPayload(spec, this.deps.partnerCaps, this.deps.testHash?.(spec.testId));
  }

  private maybeFinishRun(runId: string): void {
    finishRunIfDone(this.store, this.events, runId, this.now());
  }
}
