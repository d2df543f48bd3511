import { redactText } from '../../devices/redact.ts';
import { isTestFailure, VERDICTS, type Verdict } from '../protocol/verdict.ts';
import type { Db } from './database.ts';

/** The verdicts that are test failures, as an SQL list (from the verdict module, constants only). */
const TEST_FAILURE_SQL = VERDICTS.filter(isTestFailure)
  .map((v) => `'${v}'`)
  .join(', ');

/** queued → running → done (with a verdict); skipped and cancelled are done without running. */
export type JobState = 'queued' | 'running' | 'done';

/** A run's jobs on one device: finished, test failures, infrastructure errors, all. */
export interface DeviceCounts {
  done: number;
  failed: number;
  errors: number;
  total: number;
}

export interface JobRow {
  id: string;
  runId: string;
  seq: number;
  testId: string;
  pool: string;
  deviceModel: string;
  deviceFirmware: string;
  devicePlatform: string;
  component: string;
  score: number | null;
  reasons: string[];
  estDurationMs: number | null;
  maxRetries: number;
  timeoutMs: number;
  state: JobState;
  verdict: Verdict | null;
  deviceId: string | null;
  attempts: number;
  infraAttempts: number;
  durationMs: number | null;
  signature: string | null;
  message: string | null;
  skipReason: string | null;
  finishedAt: number | null;
}

export type NewJob = Pick<
  JobRow,
  | 'id'
  | 'runId'
  | 'seq'
  | 'testId'
  | 'pool'
  | 'deviceModel'
  | 'deviceFirmware'
  | 'devicePlatform'
  | 'component'
  | 'score'
  | 'reasons'
  | 'estDurationMs'
  | 'maxRetries'
  | 'timeoutMs'
> & { skipReason?: string };

interface RawJob {
  id: string;
  run_id: string;
  seq: number;
  test_id: string;
  pool: string;
  device_model: string;
  device_firmware: string;
  device_platform: string;
  component: string;
  score: number | null;
  reasons_json: string | null;
  est_duration_ms: number | null;
  max_retries: number;
  timeout_ms: number;
  state: JobState;
  verdict: Verdict | null;
  device_id: string | null;
  attempts: number;
  infra_attempts: number;
  duration_ms: number | null;
  signature: string | null;
  message: string | null;
  skip_reason: string | null;
  finished_at: number | null;
}

function toRow(r: RawJob): JobRow {
  return {
    id: r.id,
    runId: r.run_id,
    seq: r.seq,
    testId: r.test_id,
    pool: r.pool,
    deviceModel: r.device_model,
    deviceFirmware: r.device_firmware,
    devicePlatform: r.device_platform,
    component: r.component,
    score: r.score,
    reasons: r.reasons_json ? (JSON.parse(r.reasons_json) as string[]) : [],
    estDurationMs: r.est_duration_ms,
    maxRetries: r.max_retries,
    timeoutMs: r.timeout_ms,
    state: r.state,
    verdict: r.verdict,
    deviceId: r.device_id,
    attempts: r.attempts,
    infraAttempts: r.infra_attempts,
    durationMs: r.duration_ms,
    signature: r.signature,
    message: r.message,
    skipReason: r.skip_reason,
    finishedAt: r.finished_at,
  };
}

export interface JobOutcome {
  verdict: Verdict;
  deviceId: string | null;
  durationMs: number | null;
  signature: string | null;
  message: string | null;
  at: number;
}

export class JobsRepo {
  constructor(private readonly db: Db) {}

  /** Inserts a run's jobs in one transaction (positional parameters: a 20,000-job run is one hot loop). */
  insertMany(jobs: NewJob[], at: number): void {
    const insert = this.db.prepare(
      `INSERT INTO jobs (id, run_id, seq, test_id, pool, device_model, device_firmware, device_platform, component, score, reasons_json, est_duration_ms, max_retries, timeout_ms,
         state, verdict, skip_reason, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.db.transaction(() => {
      for (const job of jobs) {
        const skipped = job.skipReason !== undefined;
        insert.run(
          job.id,
          job.runId,
          job.seq,
          job.testId,
          job.pool,
          job.deviceModel,
          job.deviceFirmware,
          job.devicePlatform,
          job.component,
          job.score,
          job.reasons.length === 0 ? '[]' : JSON.stringify(job.reasons),
          job.estDurationMs,
          job.maxRetries,
          job.timeoutMs,
          skipped ? 'done' : 'queued',
          skipped ? 'skipped' : null,
          job.skipReason ?? null,
          skipped ? at : null,
        );
      }
    })();
  }

  get(id: string): JobRow | undefined {
    const raw = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob | undefined;
    return raw && toRow(raw);
  }

  listByRun(runId: string): JobRow[] {
    return (this.db.prepare('SELECT * FROM jobs WHERE run_id = ? ORDER BY seq').all(runId) as RawJob[]).map(
      toRow,
    );
  }

  /** Jobs of a run that have no verdict yet. */
  openJobs(runId: string): JobRow[] {
    return (
      this.db
        .prepare(`SELECT * FROM jobs WHERE run_id = ? AND state != 'done' ORDER BY seq`)
        .all(runId) as RawJob[]
    ).map(toRow);
  }

  /** Whether some job of the run has no verdict yet (checked after every result: one index probe). */
  hasOpen(runId: string): boolean {
    return (
      this.db.prepare(`SELECT 1 FROM jobs WHERE run_id = ? AND state != 'done' LIMIT 1`).get(runId) !==
      undefined
    );
  }

  markRunning(id: string, deviceId: string | null): void {
    this.db
      .prepare(`UPDATE jobs SET state = 'running', device_id = ? WHERE id = ? AND state != 'done'`)
      .run(deviceId, id);
  }

  countAttempt(id: string, infra: boolean): void {
    this.db
      .prepare(
        `UPDATE jobs SET attempts = attempts + 1, infra_attempts = infra_attempts + ? WHERE id = ? AND state != 'done'`,
      )
      .run(infra ? 1 : 0, id);
  }

  /**
   * Records the final verdict once; later deliveries of the same outcome change nothing (returns false).
   * The message is stored with URL credentials masked, as attempts' are.
   */
  finish(id: string, outcome: JobOutcome): boolean {
    const result = this.db
      .prepare(
        `UPDATE jobs SET state = 'done', verdict = ?, device_id = COALESCE(?, device_id), duration_ms = ?,
           signature = ?, message = ?, finished_at = ? WHERE id = ? AND state != 'done'`,
      )
      .run(
        outcome.verdict,
        outcome.deviceId,
        outcome.durationMs,
        outcome.signature,
        outcome.message === null ? null : redactText(outcome.message),
        outcome.at,
        id,
      );
    return result.changes === 1;
  }

  /** Cancels every job of the run that has no verdict; returns their ids. */
  cancelOpen(runId: string, at: number): string[] {
    const ids = this.openJobs(runId).map((j) => j.id);
    const update = this.db.prepare(
      `UPDATE jobs SET state = 'done', verdict = 'cancelled', finished_at = ? WHERE id = ? AND state != 'done'`,
    );
    this.db.transaction(() => {
      for (const id of ids) update.run(at, id);
    })();
    return ids;
  }

  /**
   * Finished and open jobs per device (the pool's first device until a device took the job): `failed`
   * counts test failures only, `errors` infrastructure errors (never a failure of the test); 0, not
   * null, for a device with only open jobs (no verdict yet).
   */
  deviceCounts(runId: string): Record<string, DeviceCounts> {
    const rows = this.db
      .prepare(
        `SELECT COALESCE(device_id, pool) AS d, count(*) AS total, sum(state = 'done') AS done,
           COALESCE(sum(verdict IN (${TEST_FAILURE_SQL})), 0) AS failed,
           COALESCE(sum(verdict = 'error'), 0) AS errors
         FROM jobs WHERE run_id = ? GROUP BY d`,
      )
      .all(runId) as ({ d: string } & DeviceCounts)[];
    return Object.fromEntries(
      rows.map((r) => [r.d, { done: r.done, failed: r.failed, errors: r.errors, total: r.total }]),
    );
  }

  verdictCounts(runId: string): Partial<Record<Verdict | 'pending', number>> {
    const rows = this.db
      .prepare(
        `SELECT COALESCE(verdict, 'pending') AS v, count(*) AS n FROM jobs WHERE run_id = ? GROUP BY v`,
      )
      .all(runId) as { v: Verdict | 'pending'; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.v, r.n]));
  }
}
