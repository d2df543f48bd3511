import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { HOOKS_QUEUE, type LabKeys } from '../queue/names.ts';
import type { HooksRepo } from '../store/hooks-repo.ts';
import type { Store } from '../store/store.ts';
import { HookSender, type HookSettings } from './hook-sender.ts';

/** The custom backoff type of delivery jobs: the worker's settings say how long each wait is. */
const BACKOFF_TYPE = 'devlab-hook';
/** Deliveries sent at once by one control plane. */
const CONCURRENCY = 8;
/** Waiting retries read to tell when each delivery is tried next (the soonest first). */
const NEXT_RETRIES_READ = 2000;

interface DeliveryJob {
  deliveryId: string;
  manual?: boolean;
}

export interface HookDeliveryDeps {
  store: Store;
  repo: HooksRepo;
  /** BullMQ connection (maxRetriesPerRequest: null). */
  redis: Redis;
  keys: LabKeys;
  settings: HookSettings;
  logger: Logger;
}

/** The wait before the attempt after `attemptsMade` failed ones: `backoffMs`, doubled each time, capped. */
export function retryDelay(attemptsMade: number, settings: HookSettings): number {
  return Math.min(settings.backoffMs * 2 ** Math.max(0, attemptsMade - 1), settings.maxBackoffMs);
}

/**
 * Sending deliveries: a BullMQ queue in the lab's Redis (`<prefix>:hooks`) whose job per delivery is
 * retried with exponential backoff (capped) after a failed attempt, so a delivery outlives control-plane
 * restarts and crashes; every attempt goes into the store's delivery log.
 */
export class HookDelivery {
  private readonly queue: Queue<DeliveryJob>;
  private readonly sender: HookSender;
  private worker: Worker<DeliveryJob> | null = null;
  private readonly log: Logger;
  private readonly repo: HooksRepo;

  constructor(private readonly deps: HookDeliveryDeps) {
    this.log = deps.logger;
    this.repo = deps.repo;
    this.sender = new HookSender(deps.store, deps.settings);
    this.queue = new Queue<DeliveryJob>(HOOKS_QUEUE, {
      connection: deps.redis,
      prefix: deps.keys.queuePrefix,
      defaultJobOptions: {
        attempts: deps.settings.attempts,
        backoff: { type: BACKOFF_TYPE },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    });
    this.queue.on('error', (err) => this.log.warn({ err: err.message }, 'hooks queue: Redis error'));
  }

  /** Starts sending, and queues again the deliveries a previous life recorded but may not have queued. */
  async start(): Promise<void> {
    const { settings } = this.deps;
    this.worker = new Worker<DeliveryJob>(HOOKS_QUEUE, (job) => this.process(job), {
      connection: this.deps.redis,
      prefix: this.deps.keys.queuePrefix,
      concurrency: CONCURRENCY,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelay(attemptsMade, settings) },
    });
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'hooks worker: Redis error'));
    this.worker.on('failed', (job, err) => {
      if (job && !(err instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1)) return;
      this.log.warn(
        { delivery: job?.data.deliveryId, attempts: job?.attemptsMade, err: err.message },
        'hook delivery given up',
      );
    });
    // A delivery whose job exists is not added again (same job id); one that never reached Redis is.
    for (const d of this.repo.pending()) await this.enqueue(d.id);
  }

  async close(): Promise<void> {
    // Requests in flight end now; their deliveries retry from Redis after the next start.
    this.sender.abortAll();
    await this.worker
      ?.close()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'hooks worker close'));
    this.worker = null;
    await this.queue.close().catch((err: Error) => this.log.warn({ err: err.message }, 'hooks queue close'));
  }

  /** Queues a delivery's first attempt (its id as the job id: queued once); a failure stays pending for the next start. */
  async enqueue(deliveryId: string): Promise<void> {
    try {
      await this.queue.add('deliver', { deliveryId }, { jobId: deliveryId });
    } catch (err) {
      this.log.error(
        { delivery: deliveryId, err: (err as Error).message },
        'hook delivery not queued (Redis); it is queued at the next start',
      );
    }
  }

  /** Sends a delivery again now (same body, same delivery id), with a fresh retry schedule. */
  async redeliver(deliveryId: string): Promise<void> {
    // A delivery waiting for its next retry is sent now rather than twice.
    const waiting = await this.queue.getJob(deliveryId);
    if (waiting && (await waiting.isDelayed())) {
      await waiting.promote();
      return;
    }
    this.repo.setState(deliveryId, 'pending');
    await this.queue.add('deliver', { deliveryId, manual: true }, { jobId: `${deliveryId}-m${Date.now()}` });
  }

  /**
   * When each of `deliveryIds` that waits for a retry is tried next (epoch ms): the end of its last attempt
   * plus the wait BullMQ was given. Absent: not waiting (delivered, given up, or queued to go now).
   */
  async nextRetries(deliveryIds: readonly string[]): Promise<Map<string, number>> {
    const next = new Map<string, number>();
    if (deliveryIds.length === 0) return next;
    const wanted = new Set(deliveryIds);
    const delayed = await this.queue.getDelayed(0, NEXT_RETRIES_READ - 1);
    for (const job of delayed) {
      const id = job?.data.deliveryId;
      if (!id || !wanted.has(id)) continue;
      const last = this.repo.attempts(id).at(-1);
      next.set(id, (last?.at ?? job.timestamp) + job.delay);
    }
    return next;
  }

  private async process(job: Job<DeliveryJob>): Promise<void> {
    const { deliveryId, manual = false } = job.data;
    const delivery = this.repo.delivery(deliveryId);
    if (!delivery) {
      this.log.warn({ delivery: deliveryId }, 'hook delivery not in the store: dropped');
      return;
    }
    if (delivery.state === 'delivered' && !manual) return; // a duplicate job of a delivered one
    const hook = this.repo.signing(delivery.hookId);
    if (!hook || hook.removedAt !== null) {
      this.repo.setState(deliveryId, 'failed');
      this.log.warn({ delivery: deliveryId, hook: delivery.hookId }, 'hook removed: delivery dropped');
      return;
    }
    const body = this.repo.body(deliveryId) ?? '';
    const outcome = await this.sender.send(hook, delivery, body, job.attemptsMade + 1);
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const state = outcome.ok ? 'delivered' : outcome.permanent || last ? 'failed' : 'pending';
    const attempt = this.repo.recordAttempt(
      deliveryId,
      { statusCode: outcome.statusCode, durationMs: outcome.durationMs, error: outcome.error, manual },
      state,
    );
    const fields = {
      hook: hook.id,
      delivery: deliveryId,
      event: delivery.event,
      run: delivery.runId,
      attempt: attempt.attempt,
      status: outcome.statusCode,
      ms: outcome.durationMs,
    };
    if (outcome.ok) {
      this.log.info(fields, 'hook delivered');
      return;
    }
    this.log.warn({ ...fields, err: outcome.error, state }, 'hook delivery attempt failed');
    if (outcome.permanent) throw new UnrecoverableError(outcome.error ?? 'refused');
    throw new Error(outcome.error ?? 'delivery failed');
  }
}
