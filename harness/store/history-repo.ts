import type { Verdict } from '../protocol/verdict.ts';
import type { Db } from './database.ts';

/** One finished job as history: what analysis learns from and the query language's history fields read. */
export interface FinishedJob {
  runId: string;
  runCreatedAt: number;
  build: string;
  changed: string[];
  testId: string;
  component: string;
  deviceId: string;
  model: string;
  firmware: string;
  platform: string;
  verdict: Verdict;
  durationMs: number;
  signature: string | null;
  finishedAt: number;
}

interface Raw {
  run_id: string;
  created_at: number;
  build: string;
  request_json: string;
  test_id: string;
  component: string;
  device_id: string | null;
  pool: string;
  device_model: string;
  device_firmware: string;
  device_platform: string;
  verdict: Verdict;
  duration_ms: number | null;
  signature: string | null;
  finished_at: number;
}

/** Reads the lab's history out of the store, oldest first; cancelled and skipped jobs taught nothing. */
export class HistoryRepo {
  constructor(private readonly db: Db) {}

  finishedJobs(options: { sinceMs?: number; limit?: number } = {}): FinishedJob[] {
    const rows = this.db
      .prepare(
        `SELECT j.run_id, r.created_at, r.build, r.request_json, j.test_id, j.component, j.device_id, j.pool,
           j.device_model, j.device_firmware, j.device_platform, j.verdict, j.duration_ms, j.signature, j.finished_at
         FROM jobs j JOIN runs r ON r.id = j.run_id
         WHERE j.state = 'done' AND j.verdict NOT IN ('cancelled', 'skipped') AND j.finished_at >= ?
         ORDER BY r.created_at, j.run_id, j.seq
         LIMIT ?`,
      )
      .all(options.sinceMs ?? 0, options.limit ?? 1_000_000) as Raw[];
    const changedByRun = new Map<string, string[]>();
    return rows.map((r) => {
      let changed = changedByRun.get(r.run_id);
      if (!changed) {
        const request = JSON.parse(r.request_json) as { options?: { changedComponents?: string[] } };
        changed = request.options?.changedComponents ?? [];
        changedByRun.set(r.run_id, changed);
      }
      return {
        runId: r.run_id,
        runCreatedAt: r.created_at,
        build: r.build,
        changed,
        testId: r.test_id,
        component: r.component,
        deviceId: r.device_id ?? r.pool,
        model: r.device_model,
        firmware: r.device_firmware,
        platform: r.device_platform,
        verdict: r.verdict,
        durationMs: r.duration_ms ?? 0,
        signature: r.signature,
        finishedAt: r.finished_at,
      };
    });
  }

  /** Mean duration of passed runs of each test per pool, for budgets and duration ordering. */
  meanDurations(): Map<string, number> {
    const rows = this.db
      .prepare(
        `SELECT test_id, pool, avg(duration_ms) AS ms FROM jobs
         WHERE verdict IN ('passed', 'flaky', 'failed') AND duration_ms IS NOT NULL GROUP BY test_id, pool`,
      )
      .all() as { test_id: string; pool: string; ms: number }[];
    return new Map(rows.map((r) => [`${r.test_id}\u0000${r.pool}`, r.ms]));
  }
}
