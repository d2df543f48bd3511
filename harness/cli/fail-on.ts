import { InvalidArgumentError } from 'commander';
import type { Triage } from '../../analysis/triage/triage.ts';
import { isTestFailureName } from '../protocol/verdict.ts';
import { exitCodeFor } from '../scheduler/run-status.ts';
import type { RunStatus } from '../store/runs-repo.ts';
import type { ApiClient } from './api-client.ts';
import { type ApiRetryOptions, withApiRetry } from './api-retry.ts';

/**
 * What fails a finished run for CI (`--fail-on`): `any` test failure (the default), or only `new` ones:
 * failures the lab triaged as known (failing on the base build or recently on that device) or flaky on
 * that device do not fail it (harness/history/run-triage.ts).
 */
export const FAIL_ON = ['any', 'new'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export function parseFailOn(v: string): FailOn {
  const found = FAIL_ON.find((f) => f === v);
  if (!found) throw new InvalidArgumentError(`expected one of ${FAIL_ON.join(', ')}, got "${v}"`);
  return found;
}

/** A job of `GET /api/runs/:id/results`, as far as the decision reads it. */
export interface TriagedJob {
  testId: string;
  pool: string;
  deviceId: string | null;
  verdict: string | null;
  triage?: Triage | null;
}

/** Labels that do not fail a run under `--fail-on new`. */
const TOLERATED: ReadonlySet<string> = new Set(['known', 'flaky']);

export interface FailOnNewDecision {
  code: number;
  /** Test failures triaged known or flaky, and the ones that fail the run (new, or not triaged). */
  tolerated: TriagedJob[];
  blocking: TriagedJob[];
}

/**
 * Exit code under `--fail-on new`: 1 when any test failure is new (or has no triage: never assumed
 * harmless), else 2 when an infrastructure error or nothing else remains to report, else 0.
 */
export function failOnNew(status: RunStatus, jobs: readonly TriagedJob[]): FailOnNewDecision {
  const failures = jobs.filter((j) => isTestFailureName(j.verdict));
  const tolerated = failures.filter((j) => j.triage && TOLERATED.has(j.triage.label));
  const blocking = failures.filter((j) => !(j.triage && TOLERATED.has(j.triage.label)));
  if (blocking.length > 0) return { code: 1, tolerated, blocking };
  if (status !== 'failed') return { code: exitCodeFor(status), tolerated, blocking };
  // The run failed only by tolerated failures: what is left decides, as the run status would.
  const errors = jobs.some((j) => j.verdict === 'error' || j.verdict === 'cancelled');
  return { code: errors ? 2 : 0, tolerated, blocking };
}

const where = (j: TriagedJob): string => `${j.testId} on ${j.deviceId ?? j.pool}`;

/**
 * The exit code of a finished run under `failOn`; with `new` and a failed run it reads the run's results
 * (their triage) and says on `out` which failures it let pass and which fail the run.
 */
export async function runExitCode(
  api: ApiClient,
  run: { id: string; status: string },
  failOn: FailOn,
  out: NodeJS.WritableStream,
  retry?: ApiRetryOptions,
): Promise<number> {
  const status = run.status as RunStatus;
  if (failOn === 'any' || status !== 'failed') return exitCodeFor(status);
  const read = () => api.request<{ jobs: TriagedJob[] }>('GET', `/api/runs/${run.id}/results`);
  const results = retry ? await withApiRetry(`results of run ${run.id}`, read, retry) : await read();
  const d = failOnNew(status, results.jobs);
  for (const j of d.tolerated)
    out.write(`--fail-on new: not failing for ${where(j)}: ${j.triage!.summary}\n`);
  for (const j of d.blocking)
    out.write(
      `--fail-on new: fails the run: ${where(j)}: ${j.triage?.summary ?? 'no triage for this failure'}\n`,
    );
  return d.code;
}
