import type { RunRequest } from '../protocol/run-request.ts';
import type { Db } from './database.ts';

/**
 * `planning`: the run's jobs are being written (a big plan is written in slices, so that the control
 * plane keeps reading reports meanwhile); nothing of it is queued yet. Then queued → running → final.
 */
export const RUN_STATUSES = [
  'planning',
  'queued',
  'running',
  'passed',
  'failed',
  'error',
  'cancelled',
] as const;
/** Final statuses: the run is over. */
export const FINISHED_RUN_STATUSES = ['passed', 'failed', 'error', 'cancelled'] as const;

/** Whether a run with this status is over (planning, queued and running are not). */
export function isRunOver(status: string): boolean {
  return (FINISHED_RUN_STATUSES as readonly string[]).includes(status);
}
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunRow extends RunHeader {
  plan: unknown;
  /** The client's idempotency key the run was submitted with (unique per partner), if any. */
  idempotencyKey: string | null;
}

export interface RunHeader {
  id: string;
  partner: string;
  priority: string;
  build: string;
  request: RunRequest;
  status: RunStatus;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

interface RawRun {
  id: string;
  partner: string;
  priority: string;
  build: string;
  request_json: string;
  status: RunStatus;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  plan_json: string | null;
  idempotency_key: string | null;
}

function toHeader(raw: Omit<RawRun, 'plan_json'>): RunHeader {
  return {
    id: raw.id,
    partner: raw.partner,
    priority: raw.priority,
    build: raw.build,
    request: JSON.parse(raw.request_json) as RunRequest,
    status: raw.status,
    createdAt: raw.created_at,
    startedAt: raw.started_at,
    finishedAt: raw.finished_at,
  };
}

function toRow(raw: RawRun): RunRow {
  return {
    ...toHeader(raw),
    plan: raw.plan_json ? (JSON.parse(raw.plan_json) as unknown) : null,
    idempotencyKey: raw.idempotency_key,
  };
}

export class RunsRepo {
  constructor(private readonly db: Db) {}

  /** Throws a UNIQUE constraint error when the partner already has a run with this idempotency key. */
  insert(run: {
    id: string;
    request: RunRequest;
    createdAt: number;
    plan?: unknown;
    idempotencyKey?: string | null;
    status?: 'planning' | 'queued';
  }): void {
    this.db
      .prepare(
        `INSERT INTO runs (id, partner, priority, build, request_json, status, created_at, plan_json, idempotency_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.id,
        run.request.partner,
        run.request.priority,
        run.request.build,
        JSON.stringify(run.request),
        run.status ?? 'queued',
        run.createdAt,
        run.plan === undefined ? null : JSON.stringify(run.plan),
        run.idempotencyKey ?? null,
      );
  }

  /** The partner's run submitted with this idempotency key, if any. */
  byIdempotencyKey(partner: string, key: string): RunRow | undefined {
    const raw = this.db
      .prepare('SELECT * FROM runs WHERE partner = ? AND idempotency_key = ?')
      .get(partner, key) as RawRun | undefined;
    return raw && toRow(raw);
  }

  get(id: string): RunRow | undefined {
    const raw = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RawRun | undefined;
    return raw && toRow(raw);
  }

  /** The run without its plan (which can be large): what the control plane reads for every report. */
  header(id: string): RunHeader | undefined {
    const raw = this.db
      .prepare(
        'SELECT id, partner, priority, build, request_json, status, created_at, started_at, finished_at FROM runs WHERE id = ?',
      )
      .get(id) as Omit<RawRun, 'plan_json'> | undefined;
    return raw && toHeader(raw);
  }

  list(filter: { partner?: string; status?: RunStatus[]; limit?: number } = {}): RunRow[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.partner) {
      where.push('partner = ?');
      args.push(filter.partner);
    }
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
      args.push(...filter.status);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, filter.limit ?? 50) as RawRun[]).map(toRow);
  }

  markStarted(id: string, at: number): void {
    this.db
      .prepare(
        `UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?) WHERE id = ? AND status = 'queued'`,
      )
      .run(at, id);
  }

  /** A run whose jobs are all written is queued (planning → queued); false when it was not planning. */
  markPlanned(id: string): boolean {
    return (
      this.db.prepare(`UPDATE runs SET status = 'queued' WHERE id = ? AND status = 'planning'`).run(id)
        .changes === 1
    );
  }

  /**
   * Removes runs a previous life left half written (still `planning`): nothing of them was queued and no
   * client was answered with them (a keyed submit, repeated, plans again). Returns their ids.
   */
  removeUnplanned(): string[] {
    const ids = (
      this.db.prepare(`SELECT id FROM runs WHERE status = 'planning'`).all() as { id: string }[]
    ).map((r) => r.id);
    for (const id of ids) {
      this.db.transaction(() => {
        this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(id);
        this.db.prepare('DELETE FROM events WHERE run_id = ?').run(id);
        this.db.prepare(`DELETE FROM runs WHERE id = ? AND status = 'planning'`).run(id);
      })();
    }
    return ids;
  }

  /** Sets a final status once; a second call (a duplicate delivery) changes nothing and returns false. */
  finish(id: string, status: RunStatus, at: number): boolean {
    const result = this.db
      .prepare(`UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`)
      .run(status, at, id);
    return result.changes === 1;
  }
}
