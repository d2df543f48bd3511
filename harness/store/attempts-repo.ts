import { redactText } from '../../devices/redact.ts';
import type { AttemptReport, CaseResult } from '../protocol/job.ts';
import type { AttemptStatus } from '../protocol/verdict.ts';
import type { Db } from './database.ts';

/** What the retry policy (scheduler/retry-policy.ts) reads of one attempt. */
export interface AttemptSummary {
  attempt: number;
  status: AttemptStatus;
  deviceId: string | null;
}

export interface AttemptRow {
  jobId: string;
  attempt: number;
  runId: string;
  deviceId: string | null;
  agent: string;
  status: AttemptStatus;
  errorKind: string | null;
  message: string | null;
  signature: string | null;
  startedAt: number;
  endedAt: number;
  durationMs: number;
}

export class AttemptsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Writes an attempt once, keyed by (job, attempt): at-least-once delivery from the queue still
   * gives one row. Returns false for a duplicate, which the caller must then ignore entirely. Messages
   * and stacks are stored with URL credentials masked (the agent masks them too; this is the store's own).
   */
  insert(report: AttemptReport, signature: string | null): boolean {
    const insertCases = this.db.prepare(
      `INSERT OR IGNORE INTO case_results (job_id, attempt, idx, name, classname, verdict, duration_ms, message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.db.transaction(() => {
      const result = this.db
        .prepare(
          `INSERT OR IGNORE INTO attempts (job_id, attempt, run_id, device_id, agent, status, error_kind, message, stack,
             signature, started_at, ended_at, duration_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          report.jobId,
          report.attempt,
          report.runId,
          report.deviceId,
          report.agent,
          report.status,
          report.error?.kind ?? null,
          report.error ? redactText(report.error.message) : null,
          report.error?.stack === undefined ? null : redactText(report.error.stack),
          signature,
          report.startedAt,
          report.endedAt,
          Math.max(0, report.endedAt - report.startedAt),
        );
      if (result.changes === 0) return false;
      for (const [i, c] of report.cases.entries()) {
        insertCases.run(
          report.jobId,
          report.attempt,
          i,
          c.name,
          c.classname,
          c.verdict,
          c.durationMs,
          c.message === undefined ? null : redactText(c.message),
        );
      }
      return true;
    })();
  }

  /**
   * Stored attempts by outcome and error kind (null: no error), counted by SQLite in one aggregate query
   * (the metrics' starting point; no row is read into JS).
   */
  countsByOutcome(): { status: AttemptStatus; errorKind: string | null; count: number }[] {
    return this.db
      .prepare(
        'SELECT status, error_kind AS errorKind, COUNT(*) AS count FROM attempts GROUP BY status, error_kind',
      )
      .all() as { status: AttemptStatus; errorKind: string | null; count: number }[];
  }

  listByJob(jobId: string): AttemptRow[] {
    return this.db
      .prepare(
        `SELECT job_id AS jobId, attempt, run_id AS runId, device_id AS deviceId, agent, status, error_kind AS errorKind,
           message, signature, started_at AS startedAt, ended_at AS endedAt, duration_ms AS durationMs
         FROM attempts WHERE job_id = ? ORDER BY attempt`,
      )
      .all(jobId) as AttemptRow[];
  }

  /** One stored attempt (a report of it that was not inserted is compared with it: same execution or not). */
  get(jobId: string, attempt: number): AttemptRow | undefined {
    return this.db
      .prepare(
        `SELECT job_id AS jobId, attempt, run_id AS runId, device_id AS deviceId, agent, status, error_kind AS errorKind,
           message, signature, started_at AS startedAt, ended_at AS endedAt, duration_ms AS durationMs
         FROM attempts WHERE job_id = ? AND attempt = ?`,
      )
      .get(jobId, attempt) as AttemptRow | undefined;
  }

  /** What the retry policy reads of a job's attempts (every report reads it: only three columns). */
  summaries(jobId: string): AttemptSummary[] {
    return this.db
      .prepare('SELECT attempt, status, device_id AS deviceId FROM attempts WHERE job_id = ?')
      .all(jobId) as AttemptSummary[];
  }

  casesOf(jobId: string, attempt: number): CaseResult[] {
    return this.db
      .prepare(
        `SELECT name, classname, verdict, duration_ms AS durationMs, message FROM case_results
         WHERE job_id = ? AND attempt = ? ORDER BY idx`,
      )
      .all(jobId, attempt)
      .map((r) => {
        const row = r as CaseResult & { message: string | null };
        return { ...row, message: row.message ?? undefined };
      });
  }
}
