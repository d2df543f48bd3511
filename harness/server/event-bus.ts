import { EventEmitter } from 'node:events';
import type { EventsRepo, StoredEvent } from '../store/events-repo.ts';

export type RunEventType =
  | 'run.created'
  | 'run.started'
  | 'run.finished'
  | 'run.cancelled'
  | 'job.started'
  | 'job.retry'
  | 'job.finished'
  /** A second execution of an attempt already stored (its queue lock had expired): recorded, never merged. */
  | 'attempt.duplicate';

/** Run and job lifecycle events: stored first (for replay), then published to live listeners (CLI, API, dashboard). */
export class EventBus {
  private readonly emitter = new EventEmitter();
  /** Events stored by the transaction in progress: live listeners hear of them only once it commits. */
  private pending: StoredEvent[] | null = null;

  constructor(
    private readonly repo: EventsRepo,
    private readonly now: () => number = Date.now,
  ) {
    this.emitter.setMaxListeners(0);
  }

  publish(runId: string, type: RunEventType, payload: Record<string, unknown>): StoredEvent {
    const event = this.repo.append(runId, type, payload, this.now());
    if (this.pending) this.pending.push(event);
    else this.emitter.emit('event', event);
    return event;
  }

  /**
   * Runs `fn` (a store transaction that publishes events) and emits its events after it returns; if it
   * throws, the transaction rolled back and its events are dropped, so listeners never see an unstored event.
   */
  batch<T>(fn: () => T): T {
    if (this.pending) {
      // Nested (a savepoint): if it throws, its rows rolled back, so its events go too.
      const mark = this.pending.length;
      try {
        return fn();
      } catch (err) {
        this.pending.length = mark;
        throw err;
      }
    }
    this.pending = [];
    let committed: StoredEvent[] = [];
    try {
      const result = fn();
      committed = this.pending;
      return result;
    } finally {
      this.pending = null;
      for (const event of committed) this.emitter.emit('event', event);
    }
  }

  /** Calls `listener` for every new event (optionally of one run); returns the unsubscribe function. */
  subscribe(listener: (event: StoredEvent) => void, runId?: string): () => void {
    const wrapped = (event: StoredEvent) => {
      if (!runId || event.runId === runId) listener(event);
    };
    this.emitter.on('event', wrapped);
    return () => this.emitter.off('event', wrapped);
  }

  replay(runId: string, afterSeq = 0): StoredEvent[] {
    return this.repo.since(runId, afterSeq);
  }
}
