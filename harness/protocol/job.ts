import { z } from 'zod';
import { attemptStatusSchema } from './verdict.ts';

/** What travels on a pool queue: one attempt of one test on any free device of the pool. */
export const jobPayloadSchema = z
  .object({
    runId: z.string(),
    jobId: z.string(),
    testId: z.string(),
    /**
     * The test's catalog content hash at planning (suites/catalog/content-hash.ts): the agent runs the
     * body only if its own has this hash. Absent when the control plane knows none (a lab built from
     * test definitions rather than a catalog): then the agent runs the body it has.
     */
    testHash: z.string().optional(),
    pool: z.string(),
    partner: z.string(),
    attempt: z.number().int().min(1),
    timeoutMs: z.number().int().positive(),
    /** Devices that already failed this job for infrastructure reasons: try another one first. */
    avoidDevices: z.array(z.string()).default([]),
    /**
     * How often an avoided device put the attempt back for another device to take (the agent counts it in
     * the queued payload). Part of the schema: a strict parse that rejected it would drop the attempt.
     */
    bounced: z.number().int().min(0).optional(),
    /** Concurrency caps the agent enforces with Redis semaphores before it starts the attempt. */
    limits: z.object({
      partner: z.number().int().positive().nullable(),
      run: z.number().int().positive().nullable(),
    }),
  })
  .strict();
export type JobPayload = z.infer<typeof jobPayloadSchema>;

export const artifactRefSchema = z.object({
  id: z.string(),
  name: z.string(),
  contentType: z.string(),
  size: z.number().int().min(0),
});
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

/** One JUnit test case reported by a container test's result file. */
export const caseResultSchema = z.object({
  name: z.string(),
  classname: z.string().default(''),
  verdict: z.enum(['passed', 'failed', 'skipped', 'error']),
  durationMs: z.number().min(0),
  message: z.string().optional(),
});
export type CaseResult = z.infer<typeof caseResultSchema>;

/**
 * An agent took an attempt: live progress for the run (not needed for correctness). It travels on the
 * lab's start channel, the attempt's report on the report stream: harness/queue/attempt-channel.ts sends
 * and reads both.
 */
export const attemptStartedSchema = z
  .object({
    type: z.literal('started'),
    runId: z.string(),
    jobId: z.string(),
    attempt: z.number().int().min(1),
    deviceId: z.string(),
    agent: z.string(),
    at: z.number(),
  })
  .strict();
export type AttemptStarted = z.infer<typeof attemptStartedSchema>;

/** What an agent reports for an attempt; written idempotently by (jobId, attempt). */
export const attemptReportSchema = z
  .object({
    runId: z.string(),
    jobId: z.string(),
    attempt: z.number().int().min(1),
    deviceId: z.string().nullable(),
    agent: z.string(),
    status: attemptStatusSchema,
    error: z
      .object({
        message: z.string(),
        kind: z.enum(['test', 'infra', 'timeout', 'cancelled']),
        stack: z.string().optional(),
      })
      .optional(),
    startedAt: z.number(),
    endedAt: z.number(),
    artifacts: z.array(artifactRefSchema).default([]),
    cases: z.array(caseResultSchema).default([]),
    /**
     * Whether the agent sent a start message for this attempt (absent: it did). A test over before the
     * agent's start
     * notice delay sends none: the control plane then records the start from this report.
     */
    startSent: z.boolean().optional(),
  })
  .strict();
export type AttemptReport = z.infer<typeof attemptReportSchema>;
