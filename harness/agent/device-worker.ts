import { DelayedError, type Job, Worker } from 'bullmq';
import type { DriverRegistry } from '../../devices/driver.ts';
import { errorInfo } from '../../devices/errors.ts';
import type { LeaseManager } from '../../devices/lease/lease-manager.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { logConnectionErrors } from '../log/connection-errors.ts';
import { type JobPayload, jobPayloadSchema } from '../protocol/job.ts';
import { firstIssue } from '../protocol/zod-issue.ts';
import { type LabKeys, poolQueueName } from '../queue/names.ts';
import type { Semaphore } from '../queue/semaphore.ts';
import { type AttemptOutcome, AttemptRunner, type AttemptRunnerDeps } from './attempt-runner.ts';
import { DeviceLease } from './device-lease.ts';
import { DeviceSession } from './device-session.ts';
import { alreadyReported, type Execution } from './execution.ts';
import type { LocalSlots } from './local-slots.ts';
import { LockWatches } from './lock-watch.ts';
import { type TestBodies, testBody } from './test-body.ts';

/**
 * What a device worker needs: what its attempts need (attempt-runner.ts), the test bodies it may run
 * (test-body.ts), and its queue, caps and lease.
 */
export interface DeviceWorkerDeps extends Omit<AttemptRunnerDeps, 'session'>, TestBodies {
  pool: string;
  /** How many devices the pool has in the whole lab (from the inventory): avoiding a device only helps when > 1. */
  poolSize: number;
  leases: LeaseManager;
  semaphore: Semaphore;
  registry: DriverRegistry;
  /** Host-wide limit on sessions running a test at once (shared by the agent's device workers). */
  slots: LocalSlots;
  keys: LabKeys;
  leaseTtlMs: number;
  /** How long an idle device keeps its lease, so that its next queued test does not lease it again. */
  leaseIdleMs: number;
  lockDurationMs: number;
}

const delay = (job: Job, token: string | undefined, ms: number) => job.moveToDelayed(Date.now() + ms, token);

/**
 * Takes attempts from its device's pool queue one at a time: the partner and run caps, the device's
 * lease, a local session slot, then the attempt (attempt-runner.ts). Nothing thrown here may kill the
 * agent: every failure becomes an attempt report with its classification.
 */
export class DeviceWorker {
  private worker: Worker | null = null;
  private lease: DeviceLease | null = null;
  private readonly session: DeviceSession;
  private readonly runner: AttemptRunner;
  private readonly locks: LockWatches;

  constructor(private readonly deps: DeviceWorkerDeps) {
    this.session = new DeviceSession(deps.registry, deps.device, deps.log);
    this.locks = new LockWatches(deps.lockDurationMs);
    this.runner = new AttemptRunner({ ...deps, session: this.session });
  }

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
    this.locks.attach(this.worker);
    await this.worker.waitUntilReady();
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
    await this.lease?.release();
    await this.session.drop();
  }

  private async process(job: Job, token: string | undefined): Promise<void> {
    const parsed = jobPayloadSchema.safeParse(job.data);
    if (!parsed.success) {
      // Not ours to run; completing it drops it.
      this.deps.log(
        `device ${this.deps.device.id}: queue job ${job.id} dropped, not an attempt payload: ${firstIssue(parsed.error)}`,
      );
      return;
    }
    const jobId = job.id ?? '';
    const watch = this.locks.watch(jobId);
    const execution: Execution = {
      jobKey: this.worker?.toKey(jobId) ?? '',
      delivery: job.stalledCounter + 1,
      lockLost: watch.signal,
      filesApart: false,
    };
    try {
      if (
        execution.delivery > 1 &&
        (await alreadyReported(this.deps.connection, job.id, parsed.data, execution, this.deps))
      )
        return;
      let test: TestDefinition;
      try {
        test = testBody(this.deps, parsed.data);
      } catch (err) {
        // Not this device's fault, and nothing ran: reported as an infrastructure error naming why.
        this.deps.log(`device ${this.deps.device.id}: job ${job.id} refused: ${(err as Error).message}`);
        throw err;
      }
      await this.processPayload(job, token, parsed.data, test, execution);
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      // Whatever went wrong around the test (lease lost while waiting, Redis hiccup), the control plane
      // must hear of the attempt, or the run would wait for it forever.
      await this.runner.reportFailure(parsed.data, Date.now(), errorInfo(err, 'infrastructure'), execution);
    } finally {
      watch.stop();
    }
  }

  private async processPayload(
    job: Job,
    token: string | undefined,
    payload: JobPayload,
    test: TestDefinition,
    execution: Execution,
  ): Promise<void> {
    const { device, semaphore, agentId, keys } = this.deps;
    const holder = `${agentId}/${device.id}/${job.id}`;

    const bounced = Number((job.data as { bounced?: number }).bounced ?? 0);
    if (payload.avoidDevices.includes(device.id) && this.deps.poolSize > 1 && bounced < 5) {
      await job.updateData({ ...payload, bounced: bounced + 1 });
      await delay(job, token, 300);
      throw new DelayedError();
    }
    const capKeys: [string, number][] = [];
    if (payload.limits.partner) capKeys.push([keys.partnerCap(payload.partner), payload.limits.partner]);
    if (payload.limits.run) capKeys.push([keys.runCap(payload.runId), payload.limits.run]);
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
      let outcome: AttemptOutcome | null = null;
      try {
        releaseSlot = await this.deps.slots.acquire(lease.signal);
        outcome = await this.runner.run(payload, test, lease.signal, execution);
      } finally {
        releaseSlot?.();
        // The report and keeping (or releasing) the lease are independent round trips: both at once.
        // After an infrastructure error the device goes back, so its health is looked at before reuse.
        const keep = outcome !== null && outcome.status !== 'error';
        await Promise.all([lease.end(keep), outcome?.reported]);
      }
    } finally {
      for (const key of held)
        await semaphore.release(key, holder).catch((err: unknown) => {
          // Its TTL frees the slot: the cap is only held a little longer.
          this.deps.log(
            `cap ${key}: slot of ${holder} not released (its TTL frees it): ${(err as Error).message}`,
          );
        });
    }
  }
}
