import { randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './database.ts';

/** What a hook can subscribe to (see harness/hooks/hook-service.ts for when each is sent). */
export const HOOK_EVENTS = ['run.started', 'run.finished', 'run.failed', 'job.failed'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/**
 * What a delivery is shaped for (see harness/hooks/targets.ts): the signed devlab event, a Spinnaker Gate
 * webhook trigger, or a GitHub commit status.
 */
export const HOOK_TARGETS = ['generic', 'spinnaker', 'github'] as const;
export type HookTarget = (typeof HOOK_TARGETS)[number];

/** A target's settings: `source` for spinnaker; `repo` (owner/name) and `context` for github. */
export interface HookTargetOptions {
  source?: string;
  repo?: string;
  context?: string;
}

export interface HookRow {
  id: string;
  /** The partner whose runs it receives; null: an admin's hook, every partner's runs. */
  partner: string | null;
  url: string;
  events: HookEvent[];
  /** A test query: only events about a matching test (job.failed) or a run with one (run.*). */
  query: string | null;
  target: HookTarget;
  targetOptions: HookTargetOptions;
  /** run.finished only for runs that passed (a promotion pipeline's trigger). */
  onlyPassed: boolean;
  createdAt: number;
  removedAt: number | null;
}

/** A hook with its signing secret: for the delivery worker only, never for an answer or a log line. */
export interface SigningHook extends HookRow {
  secret: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  /** Sent as `X-Devlab-Delivery`: the receiver's idempotency key (the same on every attempt and redelivery). */
  id: string;
  hookId: string;
  event: HookEvent;
  runId: string;
  state: DeliveryState;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

export interface DeliveryAttemptRow {
  deliveryId: string;
  attempt: number;
  /** The receiver's HTTP status; null when none came (refused, timed out, reset). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Sent by `hooks redeliver`, not by the retry schedule. */
  manual: boolean;
  at: number;
}

interface RawHook {
  id: string;
  partner: string | null;
  url: string;
  events_json: string;
  query: string | null;
  secret: string;
  target: string;
  target_json: string;
  only_passed: number;
  created_at: number;
  removed_at: number | null;
}

const hookRow = (r: RawHook): HookRow => ({
  id: r.id,
  partner: r.partner,
  url: r.url,
  events: JSON.parse(r.events_json) as HookEvent[],
  query: r.query,
  target: r.target as HookTarget,
  targetOptions: JSON.parse(r.target_json) as HookTargetOptions,
  onlyPassed: r.only_passed === 1,
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

const DELIVERY = `SELECT id, hook_id AS hookId, event, run_id AS runId, state, attempts, created_at AS createdAt,
  updated_at AS updatedAt FROM hook_deliveries`;

/** Webhook subscriptions, their deliveries and every attempt of those (the delivery log). */
export class HooksRepo {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new hook with a fresh secret (256 random bits); the caller shows the secret once. */
  create(hook: {
    partner: string | null;
    url: string;
    events: HookEvent[];
    query: string | null;
    target?: HookTarget;
    targetOptions?: HookTargetOptions;
    onlyPassed?: boolean;
  }): SigningHook {
    const row: SigningHook = {
      id: `hook-${randomBytes(6).toString('hex')}`,
      partner: hook.partner,
      url: hook.url,
      events: [...new Set(hook.events)],
      query: hook.query,
      target: hook.target ?? 'generic',
      targetOptions: hook.targetOptions ?? {},
      onlyPassed: hook.onlyPassed ?? false,
      secret: `dlh_${randomBytes(32).toString('base64url')}`,
      createdAt: this.now(),
      removedAt: null,
    };
    this.db
      .prepare(
        `INSERT INTO hooks (id, partner, url, events_json, query, secret, target, target_json, only_passed, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        row.id,
        row.partner,
        row.url,
        JSON.stringify(row.events),
        row.query,
        row.secret,
        row.target,
        JSON.stringify(row.targetOptions),
        row.onlyPassed ? 1 : 0,
        row.createdAt,
      );
    return row;
  }

  get(id: string): HookRow | undefined {
    const raw = this.db.prepare('SELECT * FROM hooks WHERE id = ?').get(id) as RawHook | undefined;
    return raw && hookRow(raw);
  }

  /** With the secret, for signing a delivery. */
  signing(id: string): SigningHook | undefined {
    const raw = this.db.prepare('SELECT * FROM hooks WHERE id = ?').get(id) as RawHook | undefined;
    return raw && { ...hookRow(raw), secret: raw.secret };
  }

  /** Live hooks; `partner` given: that partner's own (not the admins' hooks). */
  list(filter: { partner?: string } = {}): HookRow[] {
    const rows = (
      filter.partner === undefined
        ? this.db.prepare('SELECT * FROM hooks WHERE removed_at IS NULL ORDER BY created_at, id').all()
        : this.db
            .prepare('SELECT * FROM hooks WHERE removed_at IS NULL AND partner = ? ORDER BY created_at, id')
            .all(filter.partner)
    ) as RawHook[];
    return rows.map(hookRow);
  }

  /** The live hooks that receive a run of `partner`: its own and the admins'. */
  receiving(partner: string): HookRow[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM hooks WHERE removed_at IS NULL AND (partner = ? OR partner IS NULL) ORDER BY created_at, id',
        )
        .all(partner) as RawHook[]
    ).map(hookRow);
  }

  /** Returns false when the id is unknown or already removed. Its delivery log stays. */
  remove(id: string): boolean {
    return (
      this.db
        .prepare('UPDATE hooks SET removed_at = ? WHERE id = ? AND removed_at IS NULL')
        .run(this.now(), id).changes === 1
    );
  }

  /**
   * Records the delivery of one event to one hook, once: the same (hook, event key) again returns null,
   * so an event heard twice is delivered once.
   */
  addDelivery(d: {
    hookId: string;
    event: HookEvent;
    eventKey: string;
    runId: string;
    body: string;
  }): DeliveryRow | null {
    const at = this.now();
    const id = randomUUID();
    const changed = this.db
      .prepare(
        `INSERT OR IGNORE INTO hook_deliveries (id, hook_id, event, event_key, run_id, body, state, attempts, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
      )
      .run(id, d.hookId, d.event, d.eventKey, d.runId, d.body, at, at).changes;
    return changed === 1 ? (this.delivery(id) ?? null) : null;
  }

  delivery(id: string): DeliveryRow | undefined {
    return this.db.prepare(`${DELIVERY} WHERE id = ?`).get(id) as DeliveryRow | undefined;
  }

  /** The exact bytes that are signed and sent, the same on every attempt. */
  body(id: string): string | undefined {
    return (
      this.db.prepare('SELECT body FROM hook_deliveries WHERE id = ?').get(id) as { body: string } | undefined
    )?.body;
  }

  /** A hook's deliveries, newest first. */
  deliveries(hookId: string, limit = 100): DeliveryRow[] {
    return this.db
      .prepare(`${DELIVERY} WHERE hook_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`)
      .all(hookId, limit) as DeliveryRow[];
  }

  pending(limit = 10_000): DeliveryRow[] {
    return this.db
      .prepare(`${DELIVERY} WHERE state = 'pending' ORDER BY created_at LIMIT ?`)
      .all(limit) as DeliveryRow[];
  }

  attempts(deliveryId: string): DeliveryAttemptRow[] {
    return (
      this.db
        .prepare(
          `SELECT delivery_id AS deliveryId, attempt, status_code AS statusCode, duration_ms AS durationMs, error,
             manual, at FROM hook_attempts WHERE delivery_id = ? ORDER BY attempt`,
        )
        .all(deliveryId) as (Omit<DeliveryAttemptRow, 'manual'> & { manual: number })[]
    ).map((r) => ({ ...r, manual: r.manual === 1 }));
  }

  /** Stores one attempt (numbered after the delivery's previous ones) and the delivery's new state. */
  recordAttempt(
    deliveryId: string,
    attempt: Omit<DeliveryAttemptRow, 'deliveryId' | 'attempt' | 'at'>,
    state: DeliveryState,
  ): DeliveryAttemptRow {
    const at = this.now();
    return this.db.transaction(() => {
      const { attempts } = this.db
        .prepare(
          'UPDATE hook_deliveries SET attempts = attempts + 1, state = ?, updated_at = ? WHERE id = ? RETURNING attempts',
        )
        .get(state, at, deliveryId) as { attempts: number };
      this.db
        .prepare(
          'INSERT INTO hook_attempts (delivery_id, attempt, status_code, duration_ms, error, manual, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          deliveryId,
          attempts,
          attempt.statusCode,
          attempt.durationMs,
          attempt.error,
          attempt.manual ? 1 : 0,
          at,
        );
      return { deliveryId, attempt: attempts, ...attempt, at };
    })();
  }

  setState(deliveryId: string, state: DeliveryState): void {
    this.db
      .prepare('UPDATE hook_deliveries SET state = ?, updated_at = ? WHERE id = ?')
      .run(state, this.now(), deliveryId);
  }
}
