import type { Worker } from 'bullmq';

/** Why an execution was stopped: it lost its queue lock, so the job may be handed to another device. */
export class QueueLockLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueLockLostError';
  }
}

/** The watch on one job's queue lock. */
export interface LockWatch {
  /** Aborted (with a QueueLockLostError) once the worker cannot be sure any more that it holds the lock. */
  signal: AbortSignal;
  /** The job is done: the watch ends. */
  stop(): void;
}

/**
 * Watches the queue locks of the jobs a BullMQ worker processes, fed by its lock renewal events. BullMQ
 * renews a lock every quarter to half of the lock duration; when no renewal went through for most of that
 * duration (Redis unreachable: the lock may expire, and then the stall check hands the job to another
 * worker) or a renewal was refused (it expired), the job's signal aborts, so its test stops before another
 * device could start it again.
 */
export class LockWatches {
  private readonly watches = new Map<string, { renewed(): void; refused(): void }>();

  constructor(private readonly lockDurationMs: number) {}

  /** Feeds the watches from the worker's `locksRenewed` and `lockRenewalFailed` events. */
  attach(worker: Worker): void {
    worker.on('locksRenewed', ({ jobIds }) => {
      for (const id of jobIds) this.watches.get(id)?.renewed();
    });
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.watches.get(id)?.refused();
    });
  }

  /** Starts watching the lock of a job being processed (its lock was just taken). */
  watch(jobId: string): LockWatch {
    const lockMs = this.lockDurationMs;
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
    this.watches.set(jobId, {
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
        this.watches.delete(jobId);
      },
    };
  }
}
