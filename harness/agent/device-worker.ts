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
  /** Sends an attempt's start or report to the control plane. */
  report(message: AttemptReport | Record<string, unknown>): Promise<void>;
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
 */
function uniqueNames(artifacts: readonly Artifact[]): Artifact[] {
  const seen = new Set<string>();
  return artifacts.map((artifact) => {
    let name = artifact.name;
    const dot = artifact.name.lastIndexOf('.');
    const [stem, ext] =
      dot > 0 ? [artifact.name.slice(0, dot), artifact.name.slice(dot)] : [artifact.name, ''];
    for (let n = 2; seen.has(name); n++) name = `${stem}-${n}${ext}`;
    seen.add(name);
    return name === artifact.name ? artifact : { ...artifact, name };
  });
}

const delay = (job: Job, token: string | undefined, ms: number) => job.moveToDelayed(Date.now() + ms, token);

/**
 * Takes attempts from its device's pool queue one at a time: lease the device, run the test body in a
 * (reused) session, upload artifacts, report. Nothing thrown here may kill the agent: every failure
 * becomes an attempt report with its classification.
 */
export class DeviceWorker {
  private worker: Worker | null = null;
  private session: Session | null = null;
  private lease: DeviceLease | null = null;

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
    try {
      await this.processPayload(job, token, parsed.data);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      // Whatever went wrong around the test (lease lost while waiting, Redis hiccup), the control plane
      // must hear of the attempt, or the run would wait for it forever.
      await this.reportFailure(parsed.data, Date.now(), errorInfo(err, 'infrastructure'));
    }
  }

  private async reportFailure(payload: JobPayload, startedAt: number, error: ErrorInfo): Promise<void> {
    await this.sendReport({
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

  private async processPayload(job: Job, token: string | undefined, payload: JobPayload): Promise<void> {
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
        outcome = await this.runAttempt(payload, lease.signal);
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
    // One controller stops the test: a cancel broadcast aborts it, and so does a lost lease (without
    // AbortSignal.any, whose per-call cost shows at hundreds of tests a second).
    const stop = new AbortController();
    let leaseWasLost = false;
    const onLeaseLost = () => {
      if (stop.signal.aborted) return;
      leaseWasLost = true;
      stop.abort(leaseLost.reason);
    };
    if (leaseLost.aborted) onLeaseLost();
    else leaseLost.addEventListener('abort', onLeaseLost, { once: true });
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
      if (startNotice) clearTimeout(startNotice);
    }
    const status: AttemptStatus = stop.signal.aborted && !leaseWasLost ? 'cancelled' : result.status;
    await this.afterRun(status);
    if (status === 'error') this.deps.onInfraError?.(device, result.error?.message ?? 'infrastructure error');
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
    for (const artifact of uniqueNames(all)) {
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
    const reported = this.sendReport({
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
  private sendReport(report: AttemptReport): Promise<void> {
    return this.deps.report(redactStrings(report));
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
