import type { DurationEstimator } from '../planner/ranker.ts';
import type { Verdict } from '../protocol/verdict.ts';

/** Verdicts whose duration is the test's own run time (an error or a timeout says nothing of it). */
const TIMED: ReadonlySet<Verdict> = new Set(['passed', 'flaky', 'failed']);

/** Mean run time of each test per pool, kept incrementally from finished jobs: budgets and duration order. */
export class DurationStats implements DurationEstimator {
  private sums = new Map<string, { ms: number; n: number }>();

  /** The sums as plain data, for a snapshot (shared, not copied). */
  snapshot(): Map<string, { ms: number; n: number }> {
    return this.sums;
  }

  restore(sums: Map<string, { ms: number; n: number }>): void {
    this.sums = sums;
  }

  record(job: { testId: string; pool: string; verdict: Verdict; durationMs: number }): void {
    if (!TIMED.has(job.verdict)) return;
    const key = `${job.testId}\u0000${job.pool}`;
    const s = this.sums.get(key);
    if (s) {
      s.ms += job.durationMs;
      s.n++;
    } else this.sums.set(key, { ms: job.durationMs, n: 1 });
  }

  estimateMs(testId: string, pool: string, fallbackMs: number): number {
    const s = this.sums.get(`${testId}\u0000${pool}`);
    return s ? Math.round(s.ms / s.n) : fallbackMs;
  }
}
