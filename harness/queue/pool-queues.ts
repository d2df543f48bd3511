import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobPayload } from '../protocol/job.ts';
import { attemptJobId, type LabKeys, poolQueueName } from './names.ts';

/**
 * Attempts added to a queue in one Redis round trip. BullMQ builds a slice's commands in one go on the
 * event loop (about 0.1 ms per attempt at 1M finished jobs); 200 keeps that turn near 20 ms.
 */
const ENQUEUE_SLICE = 200;

/** Jobs read at each end of a queue for the age of its oldest waiting job (see `depths`). */
const AGE_SAMPLE = 10;

/** A pool queue's depth, as the metrics show it. */
export interface PoolDepth {
  pool: string;
  /** Waiting for a device (BullMQ's waiting and prioritized jobs). */
  waiting: number;
  /** Taken by a device worker. */
  active: number;
  /** Retries waiting out their backoff. */
  delayed: number;
  /** Age of the oldest waiting job among those sampled (0 when none waits). */
  oldestWaitingMs: number;
}

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
      // The queue's 'error' events are its connection's (the control plane's shared one, whose errors the
      // control plane logs: see ControlPlane.start); a failed command rejects its own promise.
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

  /** The pools this control plane has queued attempts on since it started (recovered runs' pools too). */
  pools(): string[] {
    return [...this.queues.keys()];
  }

  /**
   * Every known pool's depth: job counts (one round trip per pool) and the age of the oldest waiting job
   * among the AGE_SAMPLE jobs at each end of its queue. Jobs wait in priority order (class, then rank),
   * not in arrival order, so the oldest is found among the next to run and the last to run (the lowest
   * class's lowest ranks, the ones a busy lab leaves waiting): a lower bound of the true oldest, read
   * without going through a queue of 20,000 jobs.
   */
  async depths(now = Date.now()): Promise<PoolDepth[]> {
    return Promise.all(
      [...this.queues].map(async ([pool, queue]): Promise<PoolDepth> => {
        const [counts, head, tail] = await Promise.all([
          queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed'),
          queue.getJobs(['waiting', 'prioritized'], 0, AGE_SAMPLE - 1, true),
          queue.getJobs(['prioritized'], -AGE_SAMPLE, -1, true),
        ]);
        const oldest = Math.min(...[...head, ...tail].map((job) => job.timestamp));
        return {
          pool,
          waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0),
          active: counts['active'] ?? 0,
          delayed: counts['delayed'] ?? 0,
          oldestWaitingMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
        };
      }),
    );
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
      // It became active meanwhile (BullMQ refuses to remove a locked job): the cancel broadcast stops it.
      // Safe for any other failure too: the cancelled job is closed in the store, so an attempt taken
      // later is reported against a finished job and dropped.
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
