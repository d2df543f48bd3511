import { setImmediate } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { PoolQueues } from '../queue/pool-queues.ts';

type Items = Parameters<PoolQueues['enqueueMany']>[0];

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

  /** Starts queueing a run's attempts, unless its queueing is already in flight. */
  queue(runId: string, items: Items): void {
    if (items.length === 0 || this.inFlight.has(runId)) return;
    const done = this.run(runId, items).finally(() => this.inFlight.delete(runId));
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

  private async run(runId: string, items: Items): Promise<void> {
    // The answer that created the run goes out first.
    await setImmediate();
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
