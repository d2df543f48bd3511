import { setImmediate, setTimeout as delay } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { PoolQueues } from '../queue/pool-queues.ts';

type Items = Parameters<PoolQueues['enqueueMany']>[0];

/** The longest a run's queueing waits for the answer that created it (a slow reader must not hold it). */
export const MAX_QUEUE_DEFER_MS = 5000;

/**
 * Puts runs' attempts on their pool queues behind the control plane's answer (a 20,000-job run takes Redis
 * about a second): one background queueing per run, retried with backoff (0.5 s, 1 s, ... 30 s; duplicates
 * are no-ops, attempt ids being deterministic) while Redis is away, each failure logged; given up only at
 * `stop`, and then the next start queues them (the control plane's recovery).
 */
export class RunEnqueuer {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly queues: PoolQueues,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Starts queueing a run's attempts, unless its queueing is already in flight: once `after` settles (the
   * answer that created the run has been sent), at most MAX_QUEUE_DEFER_MS later.
   */
  queue(runId: string, items: Items, after?: Promise<unknown>): void {
    if (items.length === 0 || this.inFlight.has(runId)) return;
    const done = this.run(runId, items, after).finally(() => this.inFlight.delete(runId));
    this.inFlight.set(runId, done);
  }

  /** Resolves once the run's attempts are all queued (at once for a run queued earlier). */
  async queued(runId: string): Promise<void> {
    await this.inFlight.get(runId);
  }

  /** Resolves once every run's attempts are queued. */
  async allQueued(): Promise<void> {
    await Promise.all(this.inFlight.values());
  }

  /** Stops retrying and waits for the queueings in flight to end. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the control plane is stopping'));
    await this.allQueued();
  }

  private async run(runId: string, items: Items, after?: Promise<unknown>): Promise<void> {
    // The answer that created the run goes out first: queueing 20,000 attempts interleaved with its
    // serialization would make the caller wait for both.
    if (after) {
      const deferral = new AbortController();
      // Both only say when to start: a failed answer is the request's own error (logged by the API), and
      // the timer's rejection is its abort below.
      await Promise.race([
        after.catch(() => {}),
        delay(MAX_QUEUE_DEFER_MS, undefined, { signal: deferral.signal }).catch(() => {}),
      ]);
      deferral.abort();
    } else await setImmediate();
    try {
      await pRetry(() => this.queues.enqueueMany(items), {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 500,
        maxTimeout: 30_000,
        signal: this.stopping.signal,
        onFailedAttempt: ({ error, attemptNumber }) =>
          this.log(
            `run ${runId}: queueing ${items.length} attempts failed (try ${attemptNumber}), retrying: ${error.message}`,
          ),
      });
    } catch (err) {
      this.log(
        `run ${runId}: attempts not queued before the stop; the next start queues them: ${(err as Error).message}`,
      );
    }
  }
}
