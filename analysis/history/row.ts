import { z } from 'zod';

/**
 * Every verdict a history row can carry, and what it means for prediction:
 *
 * | verdict | meaning | a failure? | evidence about the test? |
 * |---|---|---|---|
 * | pass | ran and passed | no | yes |
 * | fail | the test failed: an assertion, a timeout, an exception in the test (JUnit `<failure>` and `<error>`) | yes | yes |
 * | flaky | failed, then passed on a retry | no (a verdict flip) | yes |
 * | error | lab infrastructure: device lost, session not created, engine error | never | no: the outcome is unknown |
 * | skipped, blocked | did not run | no | no |
 *
 * The lab's own vocabulary maps onto these in `harness/protocol/verdict.ts`.
 */
export const VERDICTS = ['pass', 'fail', 'flaky', 'error', 'skipped', 'blocked'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * Verdicts that count as "the pair failed" for ranking, training and evaluation: only `fail`. An
 * infrastructure `error` is never the test's failure.
 */
export function isFailure(verdict: Verdict): boolean {
  return verdict === 'fail';
}

/**
 * Verdicts that say something about the test (it ran and the lab saw its outcome). The others
 * (infrastructure `error`, `skipped`, `blocked`) are left out of cycles: neither a failure nor a pass.
 */
export function isOutcome(verdict: Verdict): boolean {
  return verdict === 'pass' || verdict === 'fail' || verdict === 'flaky';
}

/** One execution of one test on one device in one cycle (a CI run). Analysis only ever sees these. */
export const historyRowSchema = z.object({
  /** Cycle (run) id; rows with the same id belong to one cycle. */
  cycle: z.string().min(1),
  /** ISO 8601 start time of the cycle, when known. */
  time: z.string().datetime({ offset: true }).optional(),
  test: z.string().min(1),
  device: z.string().min(1),
  deviceModel: z.string().min(1).optional(),
  os: z.string().min(1).optional(),
  firmware: z.string().min(1).optional(),
  build: z.string().min(1).optional(),
  verdict: z.enum(VERDICTS),
  durationS: z.number().finite().nonnegative(),
  signature: z.string().optional(),
  /** The component the test exercises (e.g. `player`). */
  component: z.string().min(1).optional(),
  /** Components the cycle's change touched (the same on every row of a cycle). */
  changed: z.array(z.string().min(1)).optional(),
  /** The build the cycle's change is based on (the lab's main line; the same on every row of a cycle). */
  baseBuild: z.string().min(1).optional(),
});

export type HistoryRow = z.infer<typeof historyRowSchema>;

/** Raised by importers; `where` names the file and line (or element) that is wrong. */
export class HistoryImportError extends Error {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super(`${where}: ${message}`);
    this.name = 'HistoryImportError';
  }
}
