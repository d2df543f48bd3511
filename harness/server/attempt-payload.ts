import type { JobPayload } from '../protocol/job.ts';
import type { RunRequest } from '../protocol/run-request.ts';

/** One attempt of a job, as the control plane queues it (a run's first attempts, a retry, a recovery). */
export interface AttemptSpec {
  runId: string;
  request: RunRequest;
  jobId: string;
  testId: string;
  pool: string;
  attempt: number;
  timeoutMs: number;
  /** Devices that already failed the job for infrastructure reasons. */
  avoidDevices: string[];
}

/**
 * The pool queue's payload of an attempt, with the caps its agent enforces (`partnerCaps`: per partner)
 * and the test's catalog content hash (`testHash`), which the agent's body must have.
 */
export function attemptPayload(
  spec: AttemptSpec,
  partnerCaps?: Record<string, number>,
  testHash?: string,
): JobPayload {
  const { request } = spec;
  return {
    runId: spec.runId,
    jobId: spec.jobId,
    testId: spec.testId,
    ...(testHash !== undefined ? { testHash } : {}),
    pool: spec.pool,
    partner: request.partner,
    attempt: spec.attempt,
    timeoutMs: spec.timeoutMs,
    avoidDevices: spec.avoidDevices,
    limits: {
      partner: partnerCaps?.[request.partner] ?? null,
      run: request.options.maxParallel ?? null,
    },
  };
}
