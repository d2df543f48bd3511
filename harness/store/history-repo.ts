import type { Verdict } from '../protocol/verdict.ts';
import type { Db } from './database.ts';
import { FINISHED_RUN_STATUSES } from './runs-repo.ts';

/** One finished job as history: what analysis learns from and the query language's history fields read. */
export interface FinishedJob {
  runId: string;
  partner: string;
  runCreatedAt: number;
  build: string;
  changed: string[];
  /** The build the run's change is based on (the request's `baseBuild`), when it named one. */
  baseBuild?: string;
  /**
   * The run was cut to a budget or a confidence, or cancelled: some of its jobs never ran, so where its
   * failures entered its order says nothing about a selection (harness/history/recall-calibration.ts).
   */
  runCut?: boolean;
  /** The ranker's failure probability and run-time estimate the job was planned with (null: none kept). */
  score?: number | null;
  estDurationMs?: number | null;
  testId: string;
  component: string;
  pool: string;
  deviceId: string;
  model: string;
  firmware: string;
  platform: string;
  verdict: Verdict;
  durationMs: number;
  signature: string | null;
  finishedAt: number;
}

/** What bounds a replay of the history: finished since `sinceMs`, at most `maxRows` rows (the newest). */
export interface HistoryBounds {
  sinceMs: number;
  maxRows: number;
}

interface RawRun {
  id: string;
  partner: string;
  created_at: number;
  build: string;
  request_json: string;
  status: string;
}

/** A history row's job columns, in JOB_COLUMNS order: every history read is a statement in raw mode. */
type RawJobTuple = [
  run_id: string,
  test_id: string,
  component: string,
  device_id: string | null,
  pool: string,
  device_model: string,
  device_firmware: string,
  device_platform: string,
  verdict: Verdict,
  duration_ms: number | null,
  signature: string | null,
  finished_at: number,
  score: number | null,
  est_duration_ms: number | null,
];

const JOB_COLUMNS = `j.run_id, j.test_id, j.component, j.device_id, j.pool, j.device_model, j.device_firmware,
  j.device_platform, j.verdict, j.duration_ms, j.signature, j.finished_at, j.score, j.est_duration_ms`;
/** A run's columns as RawRun has them. */
const RUN_COLUMNS = 'r.id, r.partner, r.created_at, r.build, r.request_json, r.status';
/** Jobs that are history: done, with a verdict that ran or was decided (cancelled and skipped taught nothing). */
const HISTORY_JOB = `j.state = 'done' AND j.verdict NOT IN ('cancelled', 'skipped')`;
/**
 * Runs that are history: planned from the catalog. A WebDriver session's run (`kind = 'webdriver'`, a
 * client's own Appium test through /wd/hub) has no test verdict the lab knows: never history, never trained on.
 */
const HISTORY_RUN = `r.kind = 'catalog'`;
const FINISHED_RUN = `r.status IN (${FINISHED_RUN_STATUSES.map((s) => `'${s}'`).join(', ')}) AND ${HISTORY_RUN}`;

/** What a run's request says of its change, as its history rows carry it. */
interface RunChange {
  /** The components the change named (`change.components` and the older `options.changedComponents`). */
  changed: string[];
  baseBuild: string | undefined;
  cut: boolean;
}

function changeOf(run: RawRun): RunChange {
  const request = JSON.parse(run.request_json) as {
    change?: { components?: string[] };
    baseBuild?: string;
    options?: { changedComponents?: string[]; budgetS?: number; confidence?: number };
  };
  const named = [...(request.change?.components ?? []), ...(request.options?.changedComponents ?? [])];
  return {
    changed: [...new Set(named)].sort(),
    baseBuild: request.baseBuild || undefined,
    // Cancelled: its cancelled jobs never ran either.
    cut:
      request.options?.budgetS !== undefined ||
      request.options?.confidence !== undefined ||
      run.status === 'cancelled',
  };
}

function toFinished(run: RawRun, change: RunChange, j: RawJobTuple | RawJoinedTuple): FinishedJob {
  const job: FinishedJob = {
    runId: j[0],
    partner: run.partner,
    runCreatedAt: run.created_at,
    build: run.build,
    changed: change.changed,
    testId: j[1],
    component: j[2],
    pool: j[4],
    deviceId: j[3] ?? j[4],
    model: j[5],
    firmware: j[6],
    platform: j[7],
    verdict: j[8],
    durationMs: j[9] ?? 0,
    signature: j[10],
    finishedAt: j[11],
    score: j[12],
    estDurationMs: j[13],
  };
  if (change.baseBuild !== undefined) job.baseBuild = change.baseBuild;
  if (change.cut) job.runCut = true;
  return job;
}

/** RUN_COLUMNS after JOB_COLUMNS, as a raw row gives them. */
type RawJoinedTuple = [
  ...RawJobTuple,
  id: string,
  partner: string,
  created_at: number,
  build: string,
  request_json: string,
  status: string,
];

/** A joined row (JOB_COLUMNS, then RUN_COLUMNS) as history. */
function joinedToFinished(t: RawJoinedTuple): FinishedJob {
  const run: RawRun = {
    id: t[14],
    partner: t[15],
    created_at: t[16],
    build: t[17],
    request_json: t[18],
    status: t[19],
  };
  return toFinished(run, changeOf(run), t);
}

/**
 * Reads the lab's history out of the store without holding it: finished runs are streamed one at a time,
 * oldest first, from a cut-off chosen so that at most `maxRows` of the newest rows are read. Nothing here
 * is meant for a request path: the history service (harness/history/) replays it once at start, and the
 * training worker once per training; requests read the service's incremental state.
 */
export class HistoryRepo {
  constructor(private readonly db: Db) {}

  /**
   * The `finished_at` of the oldest finished run to replay: runs finished since `sinceMs`, newest first,
   * until the next would bring more than `maxRows` history rows (whole runs: a cycle is never cut).
   */
  cutoff(bounds: HistoryBounds): number {
    return this.extent(bounds).from;
  }

  /** The cut-off (see `cutoff`) and how many history rows the runs from it on hold. */
  extent(bounds: HistoryBounds): { from: number; rows: number } {
    const runs = this.db
      .prepare(
        `SELECT r.id, r.finished_at FROM runs r WHERE ${FINISHED_RUN} AND r.finished_at >= ?
         ORDER BY r.finished_at DESC, r.id DESC`,
      )
      .iterate(bounds.sinceMs) as IterableIterator<{ id: string; finished_at: number }>;
    const count = this.db.prepare(`SELECT count(*) AS n FROM jobs j WHERE j.run_id = ? AND ${HISTORY_JOB}`);
    let rows = 0;
    let from = Number.POSITIVE_INFINITY;
    for (const run of runs) {
      const n = (count.get(run.id) as { n: number }).n;
      if (rows + n > bounds.maxRows) break;
      rows += n;
      from = run.finished_at;
    }
    return { from, rows };
  }

  /** Each finished run's history rows, oldest run first, within the bounds (streamed: one run in memory); `from`: a cut-off the caller already has. */
  *finishedRuns(bounds: HistoryBounds, from = this.cutoff(bounds)): Generator<FinishedJob[]> {
    if (!Number.isFinite(from)) return;
    const runs = this.db
      .prepare(
        `SELECT ${RUN_COLUMNS} FROM runs r
         WHERE ${FINISHED_RUN} AND r.finished_at >= ? ORDER BY r.finished_at, r.id`,
      )
      .iterate(from) as IterableIterator<RawRun>;
    for (const run of runs) {
      const jobs = this.jobsOf(run);
      if (jobs.length > 0) yield jobs;
    }
  }

  /** The ids of runs that finished after `afterMs`, in the order they finished (a snapshot's tail). */
  runsFinishedAfter(afterMs: number): string[] {
    return (
      this.db
        .prepare(
          `SELECT r.id FROM runs r WHERE ${FINISHED_RUN} AND r.finished_at > ? ORDER BY r.finished_at, r.id`,
        )
        .all(afterMs) as { id: string }[]
    ).map((r) => r.id);
  }

  /** How many history jobs finished after `afterMs` (what replaying a snapshot's tail would read). */
  countJobsFinishedAfter(afterMs: number): number {
    return (
      this.db
        .prepare(
          `SELECT count(*) AS n FROM jobs j JOIN runs r ON r.id = j.run_id
           WHERE j.finished_at > ? AND ${HISTORY_JOB} AND ${HISTORY_RUN}`,
        )
        .get(afterMs) as {
        n: number;
      }
    ).n;
  }

  /** History jobs that finished after `afterMs`, in the order they finished (a snapshot's tail). */
  *jobsFinishedAfter(afterMs: number): Generator<FinishedJob> {
    const rows = this.db
      .prepare(
        `SELECT ${JOB_COLUMNS}, ${RUN_COLUMNS}
         FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.finished_at > ? AND ${HISTORY_JOB} AND ${HISTORY_RUN}
         ORDER BY j.finished_at, j.id`,
      )
      .raw(true)
      .iterate(afterMs) as IterableIterator<RawJoinedTuple>;
    for (const raw of rows) yield joinedToFinished(raw);
  }

  /** History rows of one run (finished or not: the jobs that are done so far), in plan order. */
  runJobs(runId: string): FinishedJob[] {
    const run = this.db
      .prepare(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.id = ? AND ${HISTORY_RUN}`)
      .get(runId) as RawRun | undefined;
    return run ? this.jobsOf(run) : [];
  }

  /** One finished job as history (undefined when it is not history: open, cancelled or skipped). */
  job(jobId: string): FinishedJob | undefined {
    const raw = this.db
      .prepare(
        `SELECT ${JOB_COLUMNS}, ${RUN_COLUMNS}
         FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = ? AND ${HISTORY_JOB} AND ${HISTORY_RUN}`,
      )
      .raw(true)
      .get(jobId) as RawJoinedTuple | undefined;
    return raw && joinedToFinished(raw);
  }

  /** The ids of runs still queued or running: their done jobs are history the query fields already see. */
  openRunIds(): string[] {
    return (
      this.db
        .prepare(
          `SELECT id FROM runs r WHERE status IN ('queued', 'running') AND ${HISTORY_RUN} ORDER BY created_at`,
        )
        .all() as {
        id: string;
      }[]
    ).map((r) => r.id);
  }

  /** A run's history rows; rows come as arrays (`raw`), a third cheaper than objects on a replay of millions. */
  private jobsOf(run: RawRun): FinishedJob[] {
    const raw = this.db
      .prepare(`SELECT ${JOB_COLUMNS} FROM jobs j WHERE j.run_id = ? AND ${HISTORY_JOB} ORDER BY j.seq`)
      .raw(true)
      .all(run.id) as RawJobTuple[];
    if (raw.length === 0) return [];
    const change = changeOf(run);
    return raw.map((j) => toFinished(run, change, j));
  }
}
