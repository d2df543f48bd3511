import type { HistoryScope, TestHistoryAccessor } from '../../suites/query/history.ts';
import { MAX_FAILED_IN_LAST } from '../../suites/query/test-fields.ts';
import { ALL_PARTNERS } from '../protocol/all-partners.ts';
import { isTestFailure, type QueryVerdict, queryVerdict, type Verdict } from '../protocol/verdict.ts';

/** What one finished job tells the history fields. */
export interface QueryJob {
  runId: string;
  partner: string;
  testId: string;
  deviceId: string;
  model: string;
  platform: string;
  verdict: Verdict;
  finishedAt: number;
}

/** Buckets a window is counted in: `failrate` reads whole buckets, so the window is rounded to 1/12. */
const BUCKETS = 12;
/** `flaky` looks at the test's last 20 finished jobs. */
const FLAKY_JOBS = 20;
const FLAKY_MASK = (1 << FLAKY_JOBS) - 1;
/**
 * Runs and failures of one test in one scope, per time bucket, plus its recent runs and last verdict.
 * Plain data (no class), so that a snapshot (v8 serialization) restores it as it was.
 */
interface ScopeStats {
  /** [bucket, runs, failures] triples, oldest first; at most BUCKETS + 1. */
  counts: number[];
  /**
   * Distinct recent runs, newest last (at most MAX_FAILED_IN_LAST), each as run number + 1, negative when
   * a job of the run failed: one small-integer array (a second array of flags took ~40 % of the memory of
   * the history fields at 1M finished jobs).
   */
  runs: number[];
  lastVerdict: QueryVerdict;
  lastBucket: number;
}

/** Everything the history fields know of one test (for one partner, or for all). */
interface TestStats {
  all: ScopeStats;
  device: Map<string, ScopeStats>;
  model: Map<string, ScopeStats>;
  platform: Map<string, ScopeStats>;
  /** The last FLAKY_JOBS jobs, newest in bit 0 (1 = flaky). */
  flakyBits: number;
}

const newScope = (): ScopeStats => ({
  counts: [],
  runs: [],
  lastVerdict: 'passed',
  lastBucket: Number.NEGATIVE_INFINITY,
});

function recordIn(s: ScopeStats, run: number, bucket: number, verdict: QueryVerdict, failed: boolean): void {
  const c = s.counts;
  const n = c.length;
  if (n >= 3 && c[n - 3] === bucket) {
    c[n - 2]!++;
    if (failed) c[n - 1]!++;
  } else {
    c.push(bucket, 1, failed ? 1 : 0);
    if (c.length > 3 * (BUCKETS + 1)) c.splice(0, 3);
  }
  const id = run + 1;
  const r = s.runs;
  let at = r.length - 1;
  while (at >= 0 && r[at] !== id && r[at] !== -id) at--;
  if (at >= 0) {
    if (failed) r[at] = -id;
  } else {
    r.push(failed ? -id : id);
    if (r.length > MAX_FAILED_IN_LAST) r.shift();
  }
  if (bucket >= s.lastBucket) {
    s.lastVerdict = verdict;
    s.lastBucket = bucket;
  }
}

/** [runs, failures] in buckets from `oldest` on. */
function totals(s: ScopeStats, oldest: number): [number, number] {
  let runs = 0;
  let fails = 0;
  const c = s.counts;
  for (let i = c.length - 3; i >= 0 && c[i]! >= oldest; i -= 3) {
    runs += c[i + 1]!;
    fails += c[i + 2]!;
  }
  return [runs, fails];
}

function failedInLast(s: ScopeStats, n: number): boolean {
  for (let i = s.runs.length - 1, k = 0; i >= 0 && k < n; i--, k++) if (s.runs[i]! < 0) return true;
  return false;
}

function scopeOf(t: TestStats, scope: HistoryScope | undefined): ScopeStats | undefined {
  if (!scope) return t.all;
  // A scope narrows to one of device, model or platform (the query language allows one of them).
  if (scope.device !== undefined) return t.device.get(scope.device);
  if (scope.model !== undefined) return t.model.get(scope.model);
  if (scope.platform !== undefined) return t.platform.get(scope.platform);
  return t.all;
}

function scoped(map: Map<string, ScopeStats>, key: string): ScopeStats {
  let s = map.get(key);
  if (!s) {
    s = newScope();
    map.set(key, s);
  }
  return s;
}

/** One finished job into one test's statistics (of its partner, or lab-wide). */
function recordTest(
  t: TestStats,
  job: QueryJob,
  run: number,
  bucket: number,
  verdict: QueryVerdict,
  failed: boolean,
  flaky: number,
): void {
  recordIn(t.all, run, bucket, verdict, failed);
  recordIn(scoped(t.device, job.deviceId), run, bucket, verdict, failed);
  recordIn(scoped(t.model, job.model), run, bucket, verdict, failed);
  recordIn(scoped(t.platform, job.platform), run, bucket, verdict, failed);
  t.flakyBits = ((t.flakyBits << 1) | flaky) & FLAKY_MASK;
}

/** What a snapshot of the history fields holds (plain data: Maps, arrays, numbers). */
export interface QueryStatsData {
  partners: Map<string, Map<string, TestStats>>;
  runIds: Map<string, number>;
  nextRun: number;
}

/**
 * The query language's history fields (`flaky`, `last_verdict`, `failrate`, `failed_in_last`), kept
 * incrementally: one `record` per finished job, O(1); a read is O(window buckets). Counts live in
 * BUCKETS time buckets per window (a 90-day window: 7.5-day buckets), so `failrate` covers the window
 * rounded to its twelfth, and nothing grows with the number of jobs: memory is per (test, scope).
 * Every job counts for its partner and for the lab-wide view; infrastructure errors never count as
 * failures (harness/protocol/verdict.ts).
 */
export class QueryStats {
  private data: QueryStatsData = { partners: new Map(), runIds: new Map(), nextRun: 0 };
  private readonly bucketMs: number;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  /** The statistics as plain data, for a snapshot (shared, not copied: serialize it at once). */
  snapshot(): QueryStatsData {
    return this.data;
  }

  restore(data: QueryStatsData): void {
    this.data = data;
  }

  record(job: QueryJob): void {
    const verdict = queryVerdict(job.verdict);
    if (verdict === null || verdict === 'skipped') return;
    const { runIds } = this.data;
    let run = runIds.get(job.runId);
    if (run === undefined) {
      run = this.data.nextRun++;
      runIds.set(job.runId, run);
      // Run ids are only compared within a test's last MAX_FAILED_IN_LAST runs: old ones can be forgotten.
      if (runIds.size > 100_000) runIds.delete(runIds.keys().next().value as string);
    }
    const bucket = Math.floor(job.finishedAt / this.bucketMs);
    const failed = isTestFailure(job.verdict);
    const flaky = job.verdict === 'flaky' ? 1 : 0;
    recordTest(this.testStats(ALL_PARTNERS, job.testId), job, run, bucket, verdict, failed, flaky);
    recordTest(this.testStats(job.partner, job.testId), job, run, bucket, verdict, failed, flaky);
  }

  /** The history fields as a partner sees them (its own results), or lab-wide with ALL_PARTNERS. */
  accessor(partner: string = ALL_PARTNERS): TestHistoryAccessor {
    const tests = this.data.partners.get(partner);
    const oldest = Math.floor((this.now() - this.windowMs) / this.bucketMs);
    const inWindow = (testId: string, scope?: HistoryScope): ScopeStats | undefined => {
      const t = tests?.get(testId);
      const s = t && scopeOf(t, scope);
      return s && s.lastBucket >= oldest ? s : undefined;
    };
    return {
      isFlaky(testId) {
        const t = tests?.get(testId);
        if (!t || t.all.lastBucket < oldest) return undefined;
        return t.flakyBits !== 0;
      },
      lastVerdict: (testId, scope) => inWindow(testId, scope)?.lastVerdict,
      failRate(testId, scope) {
        const s = inWindow(testId, scope);
        if (!s) return undefined;
        const [runs, fails] = totals(s, oldest);
        return runs === 0 ? undefined : fails / runs;
      },
      failedInLast(testId, runs, scope) {
        const s = inWindow(testId, scope);
        return s && failedInLast(s, runs);
      },
    };
  }

  private testStats(partner: string, testId: string): TestStats {
    let tests = this.data.partners.get(partner);
    if (!tests) {
      tests = new Map();
      this.data.partners.set(partner, tests);
    }
    let t = tests.get(testId);
    if (!t) {
      t = { all: newScope(), device: new Map(), model: new Map(), platform: new Map(), flakyBits: 0 };
      tests.set(testId, t);
    }
    return t;
  }
}
