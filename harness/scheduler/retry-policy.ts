import { isTestFailureStatus, type Verdict } from '../protocol/verdict.ts';
import type { AttemptSummary } from '../store/attempts-repo.ts';

export type NextStep =
  | { kind: 'final'; verdict: Verdict }
  | {
      kind: 'retry';
      attempt: number;
      avoidDevices: string[];
      reason: 'test-failure' | 'infrastructure';
      /** How long the retry waits in its queue before a device may take it. */
      delayMs: number;
    };

export interface RetryLimits {
  /** Retries after a test failure (failed or timed-out). */
  testRetries: number;
  /** Retries after an infrastructure error, each on another device where the pool has one. */
  infraRetries: number;
}

/**
 * Wait before the retry that follows the job's `n`-th infrastructure error: 0.5 s, 1.5 s, 4.5 s, ...
 * (at most 30 s). Another device usually takes it at once anyway; when the outage is shared (one Docker
 * engine or Appium server behind the whole pool), the retries are spread over seconds instead of being
 * spent in the ~100 ms the outage takes to show on every device.
 */
export function infraBackoffMs(n: number): number {
  return Math.min(30_000, 500 * 3 ** Math.max(0, n - 1));
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
  const testFailures = ordered.filter((a) => isTestFailureStatus(a.status)).length;
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
        : { kind: 'retry', attempt: last.attempt + 1, avoidDevices: [], reason: 'test-failure', delayMs: 0 };
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
            delayMs: infraBackoffMs(infraErrors.length),
          };
  }
}
