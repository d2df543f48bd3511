import type { AttemptStatus, Verdict } from '../protocol/verdict.ts';

export interface AttemptSummary {
  attempt: number;
  status: AttemptStatus;
  deviceId: string | null;
}

export type NextStep =
  | { kind: 'final'; verdict: Verdict }
  | { kind: 'retry'; attempt: number; avoidDevices: string[]; reason: 'test-failure' | 'infrastructure' };

export interface RetryLimits {
  /** Retries after a test failure (failed or timed-out). */
  testRetries: number;
  /** Retries after an infrastructure error, each on another device where the pool has one. */
  infraRetries: number;
}

/**
 * What follows a job's attempts so far. A pure function of the stored attempts, so a result that is
 * delivered twice leads to the same decision: infrastructure errors never count against the test,
 * and fail-then-pass is flaky.
 */
export function nextStep(attempts: AttemptSummary[], limits: RetryLimits): NextStep {
  const ordered = [...attempts].sort((a, b) => a.attempt - b.attempt);
  const last = ordered.at(-1);
  if (!last) throw new Error('nextStep needs at least one attempt');
  const testFailures = ordered.filter((a) => a.status === 'failed' || a.status === 'timed-out').length;
  const infraErrors = ordered.filter((a) => a.status === 'error');
  switch (last.status) {
    case 'passed':
      return { kind: 'final', verdict: testFailures > 0 ? 'flaky' : 'passed' };
    case 'cancelled':
      return { kind: 'final', verdict: 'cancelled' };
    case 'failed':
    case 'timed-out':
      return testFailures > limits.testRetries
        ? { kind: 'final', verdict: last.status }
        : { kind: 'retry', attempt: last.attempt + 1, avoidDevices: [], reason: 'test-failure' };
    case 'error':
      return infraErrors.length > limits.infraRetries
        ? { kind: 'final', verdict: 'error' }
        : {
            kind: 'retry',
            attempt: last.attempt + 1,
            avoidDevices: [
              ...new Set(infraErrors.map((a) => a.deviceId).filter((d): d is string => d !== null)),
            ],
            reason: 'infrastructure',
          };
  }
}
