import { isTestFailure, type Verdict } from '../protocol/verdict.ts';
import type { JobRow } from '../store/jobs-repo.ts';
import type { RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import type { HookEvent } from '../store/hooks-repo.ts';

/** At most this many failing pairs are listed in a delivery (`failingTotal` says how many there were). */
export const MAX_FAILING_PAIRS = 100;
/** A failure message is cut to its first this many characters. */
const MAX_MESSAGE = 2000;

export interface FailingPair {
  testId: string;
  deviceId: string | null;
  pool: string;
  verdict: Verdict;
  attempts: number;
  message: string | null;
  /** The failure signature (normalized message + top frames), for clustering. */
  signature: string | null;
}

export interface RunSummary {
  id: string;
  partner: string;
  build: string;
  priority: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  /** Jobs per final verdict. */
  counts: Partial<Record<Verdict | 'pending', number>>;
  /**
   * Test × device pairs that failed (test failures: failed, timed-out), first by plan order; empty in a
   * `job.failed` event (its `job` is the pair), where `failingTotal` counts the failures so far.
   */
  failing: FailingPair[];
  failingTotal: number;
  links: { run: string; results: string; junit: string };
}

/** A delivery's JSON body. */
export interface HookPayload {
  event: HookEvent;
  /** When the event happened (ISO 8601). */
  at: string;
  run: RunSummary;
  /** The failed job, for `job.failed`. */
  job?: FailingPair & { jobId: string };
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function pair(j: JobRow): FailingPair {
  return {
    testId: j.testId,
    deviceId: j.deviceId,
    pool: j.pool,
    verdict: j.verdict!,
    attempts: j.attempts,
    message: j.message === null ? null : j.message.slice(0, MAX_MESSAGE),
    signature: j.signature,
  };
}

/** The run as a receiver needs it: verdict, counts, failing pairs, and where its results and JUnit are. */
export function runSummary(
  store: Store,
  run: RunRow,
  baseUrl: string,
  jobs?: JobRow[] | 'counts only',
): RunSummary {
  const counts = store.jobs.verdictCounts(run.id);
  // A failed job's event carries the run so far without listing its jobs (a run can fail thousands).
  const failing =
    jobs === 'counts only'
      ? null
      : (jobs ?? store.jobs.listByRun(run.id)).filter((j) => j.verdict !== null && isTestFailure(j.verdict));
  const self = `${baseUrl.replace(/\/+$/, '')}/api/runs/${encodeURIComponent(run.id)}`;
  return {
    id: run.id,
    partner: run.partner,
    build: run.build,
    priority: run.priority,
    status: run.status,
    createdAt: iso(run.createdAt)!,
    finishedAt: iso(run.finishedAt),
    counts,
    failing: failing ? failing.slice(0, MAX_FAILING_PAIRS).map(pair) : [],
    failingTotal: failing ? failing.length : (counts.failed ?? 0) + (counts['timed-out'] ?? 0),
    links: { run: self, results: `${self}/results`, junit: `${self}/junit` },
  };
}

export function failedJob(job: JobRow): FailingPair & { jobId: string } {
  return { jobId: job.id, ...pair(job) };
}
