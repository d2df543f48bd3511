import { logConnectionErrors } from '../log/connection-errors.ts';
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Artifact, DeviceRecord } from '../../devices/device.ts';
import type { DriverRegistry, RunResult, Session } from '../../devices/driver.ts';
import { type ErrorInfo, errorInfo } from '../../devices/errors.ts';
import { redactStrings } from '../../devices/redact.ts';
import type { LeaseManager } from '../../devices/lease/lease-manager.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { parseJUnitXml } from '../../suites/manifest/junit.ts';
import { type AttemptReport, type CaseResult, type JobPayload, jobPayloadSchema } from '../protocol/job.ts';
import type { AttemptStatus } from '../protocol/verdict.ts';
import {
  executionMarks,
  markArtifacts,
  markUnreported,
  type ReportedMark,
} from '../queue/execution-marks.ts';
import { type LabKeys, poolQueueName } from '../queue/names.ts';
import type { Semaphore } from '../queue/semaphore.ts';
import type { ArtifactSink } from './artifact-sink.ts';
import { DeviceLease } from './device-lease.ts';
import type { LocalSlots } from './local-slots.ts';
import { createTestContext } from './test-context.ts';

export interface DeviceWorkerDeps {
  agentId: string;
  device: DeviceRecord;
  pool: string;
  /** How many devices the pool has in the whole lab (from the inventory): avoiding a device only helps when > 1. */
  poolSize: number;
  connection: Redis;
  leases: LeaseManager;
  semaphore: Semaphore;
  registry: DriverRegistry;
  tests: ReadonlyMap<string, TestDefinition>;
  artifacts: ArtifactSink;
  appUrl: string;
  /**
   * Sends an attempt's start or report to the control plane; with `mark`, the attempt's queue job is marked
   * as reported in the same call (a second delivery of it is then not run again).
   */
  report(
    message: AttemptReport | Record<string, unknown>,
    mark?: { jobKey: string; value: ReportedMark },
  ): Promise<void>;
  /** Registers a running attempt so a cancel broadcast can abort it. */
  track(runId: string, controller: AbortController): () => void;
  onInfraError?(device: DeviceRecord, message: string): void;
  /** Where the worker says what went wrong off a test (its queue connection). */
  log: (line: string) => void;
  /** Host-wide limit on sessions running a test at once (shared by the agent's device workers). */
  slots: LocalSlots;
  keys: LabKeys;
  leaseTtlMs: number;
  /** How long an idle device keeps its lease, so that its next queued test does not lease it again. */
  leaseIdleMs: number;
  lockDurationMs: number;
  /** How long a test runs before the agent tells the control plane it started (0: at once). */
  startNoticeMs: number;
}

/** A container test attaches its JUnit file: each test case in it becomes its own result. */
function junitCases(artifacts: readonly Artifact[]): CaseResult[] {
  const junit = artifacts.find((a) => /junit.*\.xml$/i.test(a.name));
  if (!junit) return [];
  try {
    return parseJUnitXml(junit.data.toString('utf8')).map((c) => ({
      name: c.name,
      classname: c.classname ?? '',
      verdict: c.verdict,
      durationMs: c.durationMs,
      ...(c.message ? { message: c.message } : {}),
    }));
  } catch {
    return [];
  }
}

/**
 * An artifact's id is per (job, attempt, name): a second attachment of the same name in one attempt
 * would be the same artifact, so it is stored as `name-2.ext` (then `-3`, ...) instead of being lost.
 * A later delivery of the attempt's queue job that runs it again after an earlier delivery began storing
 * files (see `Execution.filesApart`) names its files `name.delivery-2.ext` (3, ...): the two executions'
 * files never share an id, so neither replaces nor hides the other.
 */
function uniqueNames(artifacts: readonly Artifact[], delivery: number): Artifact[] {
  const seen = new Set<string>();
  return artifacts.map((artifact) => {
    const dot = artifact.name.lastIndexOf('.');
    const [stem, ext] =
      dot > 0 ? [artifact.name.slice(0, dot), artifact.name.slice(dot)] : [artifact.name, ''];
    const base = delivery > 1 ? `${stem}.delivery-${delivery}` : stem;
    let name = `${base}${ext}`;
    for (let n = 2; seen.has(name); n++) name = `${base}-${n}${ext}`;
    seen.add(name);
    return name === artifact.name ? artifact : { ...artifact, name };
  });
}

const delay = (job: Job, token: string | undefined, ms: number) => job.moveToDelayed(Date.now() + ms, token);

/** One processing of a queue job by this worker. */
interface Execution {
  /** The queue job's hash in Redis: marked as reported with the attempt's report. */
  jobKey: string;
  /** 1 for the job's first delivery; more once the stall check handed it out again after its lock expired. */
  delivery: number;
  /** Aborted once the worker cannot be sure any more that it holds the job's queue lock. */
  lockLost: AbortSignal;
  /** An earlier delivery began storing the attempt's files: this one names its own apart. */
  filesApart: boolean;
}

/** Why an execution was stopped: it lost its queue lock, so the job may be handed to another device. */
export class QueueLockLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueLockLostError';
  }
}

/**
 * Takes attempts from its device's pool queue one at a time: lease the device, run the test body in a
 * (reused) session, upload artifacts, report. Nothing thrown here may kill the agent: every failure
 * becomes an attempt report with its classification.
 */
export class DeviceWorker {
  private worker: Worker | null = null;
  private session: Session | null = null;
  private lease: DeviceLease | null = null;
  /** The lock watch of the job being processed, by queue job id (BullMQ's lock renewal events feed it). */
  private readonly lockWatches = new Map<string, { renewed(): void; refused(): void }>();

  constructor(private readonly deps: DeviceWorkerDeps) {}

  async start(): Promise<void> {
    this.worker = new Worker(poolQueueName(this.deps.pool), (job, token) => this.process(job, token), {
      connection: this.deps.connection,
      prefix: this.deps.keys.queuePrefix,
      concurrency: 1,
      lockDuration: this.deps.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(this.deps.lockDurationMs / 2)),
      maxStalledCount: 10,
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600 },
    });
    logConnectionErrors(
      this.worker,
      `device ${this.deps.device.id}: queue worker (pool ${this.deps.pool})`,
      this.deps.log,
    );
    this.worker.on('locksRenewed', ({ jobIds }) => {
      for (const id of jobIds) this.lockWatches.get(id)?.renewed();
    });
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.lockWatches.get(id)?.refused();
    });
    await this.worker.waitUntilReady();
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
    await this.lease?.release();
    await this.dropSession();
  }

  private async dropSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.close().catch(() => {});
  }

  private async process(job: Job, token: string | undefined): Promise<void> {
    const parsed = jobPayloadSchema.safeParse(job.data);
    if (!parsed.success) return; // not ours to run; completing it drops it
    const jobId = job.id ?? '';
    const watch = this.watchLock(jobId);
    const execution: Execution = {
      jobKey: this.worker?.toKey(jobId) ?? '',
      delivery: job.stalledCounter + 1,
      lockLost: watch.signal,
      filesApart: false,
    };
    try {
      if (execution.delivery > 1 && (await this.alreadyReported(job, parsed.data, execution))) return;
      await this.processPayload(job, token, parsed.data, execution);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      // Whatever went wrong around the test (lease lost while waiting, Redis hiccup), the control plane
      // must hear of the attempt, or the run would wait for it forever.
      await this.reportFailure(parsed.data, Date.now(), errorInfo(err, 'infrastructure'), execution);
    } finally {
      watch.stop();
    }
  }

  /**
   * Watches the job's queue lock while it is processed. BullMQ renews it every quarter to half of the
   * lock duration; when no renewal went through for most of that duration (Redis unreachable: the lock
   * may expire, and then the stall check hands the job to another worker) or a renewal was refused (it
   * expired), the signal aborts, so the test stops before another device could start it again.
   */
  private watchLock(jobId: string): { signal: AbortSignal; stop(): void } {
    const lockMs = this.deps.lockDurationMs;
    const limitMs = lockMs - Math.max(500, Math.floor(lockMs / 5));
    const controller = new AbortController();
    let renewedAt = Date.now();
    let timer: NodeJS.Timeout | null = null;
    const lose = (why: string) => {
      if (timer) clearTimeout(timer);
      if (controller.signal.aborted) return;
      controller.abort(
        new QueueLockLostError(
          `stopped: lost its queue lock during a Redis outage (${why}; the lock lasts ${lockMs} ms, so the ` +
            'job may be handed to another device); this execution is not a test result',
        ),
      );
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(
        () => lose(`no lock renewal went through for ${Date.now() - renewedAt} ms`),
        limitMs,
      );
      timer.unref();
    };
    arm();
    this.lockWatches.set(jobId, {
      renewed: () => {
        renewedAt = Date.now();
        if (!controller.signal.aborted) arm();
      },
      refused: () => lose('Redis refused to renew it: it had expired'),
    });
    return {
      signal: controller.signal,
      stop: () => {
        if (timer) clearTimeout(timer);
        this.lockWatches.delete(jobId);
      },
    };
  }

  /**
   * A later delivery of a queue job (its lock expired and BullMQ's stall check put it back): the attempt
   * may have run already, its report (and the mark that goes with it) held up by the outage that cost the
   * lock. It is run again only if no report of it arrives within a lock duration, at least 5 s (longer than
   * a client's reconnect backoff; its first agent died); otherwise it is not run twice, and the log says so.
   */
  private async alreadyReported(job: Job, payload: JobPayload, execution: Execution): Promise<boolean> {
    const { connection } = this.deps;
    const deadline = Date.now() + Math.max(this.deps.lockDurationMs, 5000);
    for (;;) {
      const { reported, unreportedDelivery, artifactsOf } = await executionMarks(
        connection,
        execution.jobKey,
      );
      execution.filesApart = artifactsOf > 0 && artifactsOf < execution.delivery;
      if (reported) {
        this.deps.log(
          `run ${payload.runId} job ${payload.jobId} attempt ${payload.attempt}: its queue job ${job.id} came back after its lock expired (delivery ${execution.delivery}), but the attempt was already run and reported (${reported.status}) by ${reported.agent} on ${reported.deviceId ?? 'no device'}: not run again`,
        );
        return true;
      }
      // This delivery already waited once (it was put back for a free device or a cap meanwhile).
      if (unreportedDelivery >= execution.delivery) return false;
      if (Date.now() >= deadline) {
        await markUnreported(connection, execution.jobKey, execution.delivery);
        this.deps.log(
          `run ${payload.runId} job ${payload.jobId} attempt ${payload.attempt}: its queue job ${job.id} came back after its lock expired (delivery ${execution.delivery}) and no report of the attempt came: run again`,
        );
        return false;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async reportFailure(
    payload: JobPayload,
    startedAt: number,
    error: ErrorInfo,
    execution: Execution,
  ): Promise<void> {
    await this.sendReport(execution, {
      runId: payload.runId,
      jobId: payload.jobId,
      attempt: payload.attempt,
      deviceId: this.deps.device.id,
      agent: this.deps.agentId,
      status: 'error',
      error: { message: error.message, kind: 'infra', ...(error.stack ? { stack: error.stack } : {}) },
      startedAt,
      endedAt: Date.now(),
      artifacts: [],
      cases: [],
    });
  }

  private async processPayload(
    job: Job,
    token: string | undefined,
    payload: JobPayload,
    execution: Execution,
  ): Promise<void> {
    const { device, semaphore, agentId } = this.deps;
    const holder = `${agentId}/${device.id}/${job.id}`;

    const bounced = Number((job.data as { bounced?: number }).bounced ?? 0);
    if (payload.avoidDevices.includes(device.id) && this.deps.poolSize > 1 && bounced < 5) {
      await job.updateData({ ...payload, bounced: bounced + 1 });
      await delay(job, token, 300);
      throw new DelayedError();
    }
    const capKeys: [string, number][] = [];
    if (payload.limits.partner)
      capKeys.push([`${this.deps.keys.keyPrefix}cap:partner:${payload.partner}`, payload.limits.partner]);
    if (payload.limits.run)
      capKeys.push([`${this.deps.keys.keyPrefix}cap:run:${payload.runId}`, payload.limits.run]);
    const held: string[] = [];
    for (const [key, limit] of capKeys) {
      if (!(await semaphore.acquire(key, holder, limit, this.deps.lockDurationMs * 2 + payload.timeoutMs))) {
        for (const k of held) await semaphore.release(k, holder);
        await delay(job, token, 250);
        throw new DelayedError();
      }
      held.push(key);
    }
    try {
      this.lease ??= new DeviceLease(
        this.deps.leases,
        device.id,
        `${agentId}/${device.id}`,
        this.deps.leaseTtlMs,
        this.deps.leaseIdleMs,
      );
      const lease = await this.lease.take();
      if (!lease) {
        await delay(job, token, 1000);
        throw new DelayedError();
      }
      let releaseSlot: (() => void) | null = null;
      let outcome: { reported: Promise<void>; status: AttemptStatus } | null = null;
      try {
        releaseSlot = await this.deps.slots.acquire(lease.signal);
        outcome = await this.runAttempt(payload, lease.signal, execution);
      } finally {
        releaseSlot?.();
        // The report and keeping (or releasing) the lease are independent round trips: both at once.
        // After an infrastructure error the device goes back, so its health is looked at before reuse.
        const keep = outcome !== null && outcome.status !== 'error';
        await Promise.all([lease.end(keep), outcome?.reported]);
      }
    } finally {
      for (const key of held) await semaphore.release(key, holder).catch(() => {});
    }
  }

  /** Runs the attempt; resolves once the test is over, with the delivery of its report still in flight. */
  private async runAttempt(
    payload: JobPayload,
    leaseLost: AbortSignal,
    execution: Execution,
  ): Promise<{ reported: Promise<void>; status: AttemptStatus }> {
    const { device, agentId } = this.deps;
    const startedAt = Date.now();
    // Progress only: the test does not wait for it, and a lost start message changes no result. A test
    // over within `startNoticeMs` sends none; its report tells the control plane when it started.
    let startSent = false;
    const sendStart = () => {
      startSent = true;
      void this.deps
        .report({
          type: 'started',
          runId: payload.runId,
          jobId: payload.jobId,
          attempt: payload.attempt,
          deviceId: device.id,
          agent: agentId,
          at: startedAt,
        })
        .catch(() => {});
    };
    const startNotice = this.deps.startNoticeMs > 0 ? setTimeout(sendStart, this.deps.startNoticeMs) : null;
    if (!startNotice) sendStart();
    // One controller stops the test: a cancel broadcast aborts it, and so do a lost lease and a lost queue
    // lock (without AbortSignal.any, whose per-call cost shows at hundreds of tests a second).
    const stop = new AbortController();
    let leaseWasLost = false;
    const onLeaseLost = () => {
      if (stop.signal.aborted) return;
      leaseWasLost = true;
      stop.abort(leaseLost.reason);
    };
    if (leaseLost.aborted) onLeaseLost();
    else leaseLost.addEventListener('abort', onLeaseLost, { once: true });
    const { lockLost } = execution;
    let lockWasLost = false;
    const onLockLost = () => {
      if (stop.signal.aborted) return;
      lockWasLost = true;
      stop.abort(lockLost.reason);
    };
    if (lockLost.aborted) onLockLost();
    else lockLost.addEventListener('abort', onLockLost, { once: true });
    const untrack = this.deps.track(payload.runId, stop);
    const signal = stop.signal;
    let result: RunResult;
    let attachments: Artifact[] = [];
    let logLines: string[] = [];
    try {
      const test = this.deps.tests.get(payload.testId);
      if (!test)
        throw new Error(
          `test ${payload.testId} is not in this agent's catalog (is the agent's checkout current?)`,
        );
      // Stopped before it began (the lock went while the device was being leased): nothing runs.
      if (signal.aborted) throw signal.reason;
      this.session ??= await this.deps.registry.openSession(device);
      result = await this.session.run(
        async (handles) => {
          const { ctx, recorder } = createTestContext(
            handles,
            device,
            payload.appUrl ?? this.deps.appUrl,
            signal,
          );
          attachments = recorder.attachments;
          logLines = recorder.lines;
          await test.body(ctx);
        },
        { timeoutMs: payload.timeoutMs, signal },
      );
    } catch (err) {
      result = {
        status: 'error',
        error: errorInfo(err, 'infrastructure'),
        artifacts: [],
        durationMs: Date.now() - startedAt,
      };
    } finally {
      untrack();
      leaseLost.removeEventListener('abort', onLeaseLost);
      lockLost.removeEventListener('abort', onLockLost);
      if (startNotice) clearTimeout(startNotice);
    }
    // A test stopped because its queue lock was lost is an infrastructure outcome naming why, never a
    // test result (the attempt goes to another device, as after any infrastructure error).
    if (lockWasLost)
      result = { ...result, status: 'error', error: errorInfo(lockLost.reason, 'infrastructure') };
    const status: AttemptStatus =
      stop.signal.aborted && !leaseWasLost && !lockWasLost ? 'cancelled' : result.status;
    await this.afterRun(status);
    // Not the device's fault: its health is not charged with a lost queue lock.
    if (status === 'error' && !lockWasLost)
      this.deps.onInfraError?.(device, result.error?.message ?? 'infrastructure error');
    const refs = [];
    const all: Artifact[] = [...result.artifacts, ...attachments];
    if (logLines.length)
      all.push({
        name: 'test.log',
        contentType: 'text/plain; charset=utf-8',
        data: Buffer.from(`${logLines.join('\n')}\n`),
      });
    // Spooled on this host and sent at once (so the report follows its artifacts); if the control plane
    // does not take it now, the sink keeps it and sends it in the background: nothing here waits for that.
    const owner = {
      runId: payload.runId,
      jobId: payload.jobId,
      attempt: payload.attempt,
      deviceId: device.id,
      status,
    };
    // Said before the files go (a later delivery that runs the attempt again then names its own apart);
    // not waited for: a delivery comes back only after a lock duration.
    if (all.length > 0)
      void markArtifacts(this.deps.connection, execution.jobKey, execution.delivery).catch(() => {});
    for (const artifact of uniqueNames(all, execution.filesApart ? execution.delivery : 1)) {
      try {
        refs.push(await this.deps.artifacts.put(owner, artifact));
      } catch (err) {
        // An artifact that cannot be kept must not lose the verdict.
        this.deps.log(
          `artifact ${artifact.name} of run ${payload.runId} job ${payload.jobId} attempt ${payload.attempt} on ${device.id} not kept: ${(err as Error).message ?? String(err)}`,
        );
      }
    }
    const error = result.error;
    const reported = this.sendReport(execution, {
      runId: payload.runId,
      jobId: payload.jobId,
      attempt: payload.attempt,
      deviceId: device.id,
      agent: agentId,
      status,
      ...(error && status !== 'passed'
        ? {
            error: {
              message: error.message,
              kind:
                status === 'cancelled'
                  ? 'cancelled'
                  : status === 'error'
                    ? 'infra'
                    : status === 'timed-out'
                      ? 'timeout'
                      : 'test',
              ...(error.stack ? { stack: error.stack } : {}),
            },
          }
        : {}),
      startedAt,
      endedAt: Date.now(),
      artifacts: refs,
      cases: junitCases(all),
      startSent,
    });
    return { reported, status };
  }

  /**
   * An attempt report goes out with URL credentials masked in all its texts (messages, stacks, case
   * messages): they end up in the report stream, the store, results and events.
   */
  private sendReport(execution: Execution, report: AttemptReport): Promise<void> {
    const mark: ReportedMark = {
      agent: report.agent,
      deviceId: report.deviceId,
      status: report.status,
      at: report.endedAt,
    };
    return this.deps.report(redactStrings(report), { jobKey: execution.jobKey, value: mark });
  }

  /** A session that errored or hung is not trusted again; otherwise it is reset for the next test. */
  private async afterRun(status: AttemptStatus): Promise<void> {
    if (!this.session) return;
    if (status === 'error' || status === 'timed-out' || status === 'cancelled') {
      await this.dropSession();
      return;
    }
    try {
      await this.session.reset();
    } catch {
      await this.dropSession();
    }
  }
}
