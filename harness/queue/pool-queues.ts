import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobPayload } from '../protocol/job.ts';
import { attemptJobId, type LabKeys, poolQueueName } from './names.ts';

/** Attempts added to a queue in one Redis round trip. */
const ENQUEUE_SLICE = 500;

/** The control plane's handle on every pool queue: enqueue attempts, remove a cancelled run's jobs. */
export class PoolQueues {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly keys: LabKeys,
  ) {}

  queue(pool: string): Queue {
    let queue = this.queues.get(pool);
    if (!queue) {
      queue = new Queue(poolQueueName(pool), {
        connection: this.connection,
        prefix: this.keys.queuePrefix,
        defaultJobOptions: {
          removeOnComplete: { age: 3600, count: 10_000 },
          removeOnFail: { age: 24 * 3600 },
        },
      });
      queue.on('error', () => {});
      this.queues.set(pool, queue);
    }
    return queue;
  }

  /** Queues one attempt; with `delayMs` no device takes it before that time has passed. */
  async enqueue(payload: JobPayload, priority: number, delayMs = 0): Promise<void> {
    await this.queue(payload.pool).add('attempt', payload, {
      jobId: attemptJobId(payload.jobId, payload.attempt),
      priority,
      ...(delayMs > 0 ? { delay: delayMs } : {}),
    });
  }

  async enqueueMany(items: { payload: JobPayload; priority: number }[]): Promise<void> {
    const byPool = new Map<string, typeof items>();
    for (const item of items) {
      const list = byPool.get(item.payload.pool) ?? [];
      list.push(item);
      byPool.set(item.payload.pool, list);
    }
    for (const [pool, list] of byPool) {
      // In slices: each addBulk is built on the event loop in one go, and a 20,000-job run must not stall it.
      for (let i = 0; i < list.length; i += ENQUEUE_SLICE) {
        await this.queue(pool).addBulk(
          list.slice(i, i + ENQUEUE_SLICE).map(({ payload, priority }) => ({
            name: 'attempt',
            data: payload,
            opts: { jobId: attemptJobId(payload.jobId, payload.attempt), priority },
          })),
        );
      }
    }
  }

  /** Removes queued (not running) attempts; a running one is stopped by the cancel broadcast. */
  async remove(pool: string, jobId: string, attempt: number): Promise<boolean> {
    const job = await this.queue(pool).getJob(attemptJobId(jobId, attempt));
    if (!job) return false;
    if (await job.isActive()) return false;
    try {
      await job.remove();
      return true;
    } catch {
      return false; // it became active meanwhile; the cancel broadcast stops it
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
