import { z } from 'zod';
import type { Verdict as HistoryVerdict } from '../../analysis/history/row.ts';

/**
 * The lab's one verdict vocabulary. Every place that names an outcome maps through this module:
 *
 * | attempt status | final verdict | history row (analysis) | query (`last_verdict`) | test failure? |
 * |---|---|---|---|---|
 * | passed | passed | pass | passed | no |
 * | failed, then passed | flaky | flaky | passed | no |
 * | failed | failed | fail | failed | yes |
 * | timed-out | timed-out | fail | failed | yes |
 * | error | error | error | error | never: infrastructure |
 * | — (budget) | skipped | skipped | skipped | no |
 * | cancelled | cancelled | (not history) | (not history) | no |
 */

/** Final verdict of a job (one test on one device pool in one run). */
export const VERDICTS = ['passed', 'failed', 'flaky', 'error', 'timed-out', 'skipped', 'cancelled'] as const;
export const verdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof verdictSchema>;

/** Outcome of one attempt on one device; `error` means infrastructure, never the test's fault. */
export const ATTEMPT_STATUSES = ['passed', 'failed', 'timed-out', 'error', 'cancelled'] as const;
export const attemptStatusSchema = z.enum(ATTEMPT_STATUSES);
export type AttemptStatus = z.infer<typeof attemptStatusSchema>;

/** Verdicts that count as a failure of the test (exit codes, history, `failrate`, the model). */
export function isTestFailure(verdict: Verdict): boolean {
  return verdict === 'failed' || verdict === 'timed-out';
}

/** `isTestFailure` for a verdict read as text (an API answer, a query): unknown names are not failures. */
export function isTestFailureName(verdict: string | null): boolean {
  const parsed = verdictSchema.safeParse(verdict);
  return parsed.success && isTestFailure(parsed.data);
}

/** Attempt statuses that count against the test (an infrastructure `error` never does). */
export function isTestFailureStatus(status: AttemptStatus): boolean {
  return status === 'failed' || status === 'timed-out';
}

const HISTORY_VERDICT: Record<Verdict, HistoryVerdict | null> = {
  passed: 'pass',
  failed: 'fail',
  'timed-out': 'fail',
  flaky: 'flaky',
  error: 'error',
  skipped: 'skipped',
  cancelled: null,
};

/** A final verdict as an analysis history row's verdict; null for what is not history (cancelled). */
export function historyVerdict(verdict: Verdict): HistoryVerdict | null {
  return HISTORY_VERDICT[verdict];
}

/** Query-language verdict names (`last_verdict`): passed | failed | skipped | error. */
export type QueryVerdict = 'passed' | 'failed' | 'skipped' | 'error';

/** A final verdict as the query language names it; flaky passed in the end, a timeout failed. */
export function queryVerdict(verdict: Verdict): QueryVerdict | null {
  switch (verdict) {
    case 'passed':
    case 'flaky':
      return 'passed';
    case 'failed':
    case 'timed-out':
      return 'failed';
    case 'error':
      return 'error';
    case 'skipped':
      return 'skipped';
    case 'cancelled':
      return null;
  }
}
