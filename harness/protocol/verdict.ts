import { z } from 'zod';

/** Final verdict of a job (one test on one device pool in one run). */
export const VERDICTS = ['passed', 'failed', 'flaky', 'error', 'timed-out', 'skipped', 'cancelled'] as const;
export const verdictSchema = z.enum(VERDICTS);
export type Verdict = z.infer<typeof verdictSchema>;

/** Outcome of one attempt on one device; `error` means infrastructure, never the test's fault. */
export const ATTEMPT_STATUSES = ['passed', 'failed', 'timed-out', 'error', 'cancelled'] as const;
export const attemptStatusSchema = z.enum(ATTEMPT_STATUSES);
export type AttemptStatus = z.infer<typeof attemptStatusSchema>;

/** Verdicts that count as a failure of the test (for exit codes and history). */
export function isTestFailure(verdict: Verdict): boolean {
  return verdict === 'failed' || verdict === 'timed-out';
}
