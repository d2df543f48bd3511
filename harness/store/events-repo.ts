import { redactStrings, redactText } from '../../devices/redact.ts';
import type { Db } from './database.ts';

export interface StoredEvent {
  seq: number;
  runId: string;
  type: string;
  payload: Record<string, unknown>;
  at: number;
}

/** The run/job lifecycle log: the API's event stream replays from it, so a reconnecting client misses nothing. */
export class EventsRepo {
  constructor(private readonly db: Db) {}

  /** Stored and answered with URL credentials masked in its texts (a retry's message may quote a hub URL). */
  append(runId: string, type: string, given: Record<string, unknown>, at: number): StoredEvent {
    let json = JSON.stringify(given);
    let payload = given;
    const masked = redactText(json);
    if (masked !== json) {
      json = masked;
      payload = redactStrings(given);
    }
    const result = this.db
      .prepare('INSERT INTO events (run_id, type, payload_json, at) VALUES (?, ?, ?, ?)')
      .run(runId, type, json, at);
    return { seq: Number(result.lastInsertRowid), runId, type, payload, at };
  }

  since(runId: string, afterSeq = 0, limit = 1000): StoredEvent[] {
    return (
      this.db
        .prepare(
          'SELECT seq, run_id, type, payload_json, at FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?',
        )
        .all(runId, afterSeq, limit) as EventRecord[]
    ).map(toEvent);
  }

  /** The run's events of one type, in order (e.g. its `attempt.duplicate` events for the job view). */
  ofType(runId: string, type: string): StoredEvent[] {
    return (
      this.db
        .prepare(
          'SELECT seq, run_id, type, payload_json, at FROM events WHERE run_id = ? AND type = ? ORDER BY seq',
        )
        .all(runId, type) as EventRecord[]
    ).map(toEvent);
  }
}

interface EventRecord {
  seq: number;
  run_id: string;
  type: string;
  payload_json: string;
  at: number;
}

const toEvent = (r: EventRecord): StoredEvent => ({
  seq: r.seq,
  runId: r.run_id,
  type: r.type,
  payload: JSON.parse(r.payload_json) as Record<string, unknown>,
  at: r.at,
});
