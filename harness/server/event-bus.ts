import { EventEmitter } from 'node:events';
import type { EventsRepo, StoredEvent } from '../store/events-repo.ts';

export type RunEventType =
  | 'run.created'
  | 'run.started'
  | 'run.finished'
  | 'run.cancelled'
  | 'job.started'
  | 'job.retry'
  | 'job.finished';

/** Run and job lifecycle events: stored first (for replay), then published to live listeners (CLI, API, dashboard). */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor(
    private readonly repo: EventsRepo,
    private readonly now: () => number = Date.now,
  ) {
    this.emitter.setMaxListeners(0);
  }

  publish(runId: string, type: RunEventType, payload: Record<string, unknown>): StoredEvent {
    const event = this.repo.append(runId, type, payload, this.now());
    this.emitter.emit('event', event);
    return event;
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
