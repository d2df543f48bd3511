import { isTestFailure, type Verdict } from '../protocol/verdict.ts';
import type { RunStatus } from '../store/runs-repo.ts';

/**
 * The final status of a run from its jobs' verdicts: any test failure fails the run; otherwise an
 * infrastructure error makes it an error (CI exit code 2, not 1); flaky and skipped still pass.
 */
export function finalRunStatus(verdicts: readonly Verdict[], cancelled: boolean): RunStatus {
  if (cancelled) return 'cancelled';
  if (verdicts.length === 0) return 'error';
  if (verdicts.some(isTestFailure)) return 'failed';
  if (verdicts.some((v) => v === 'error' || v === 'cancelled')) return 'error';
  if (verdicts.every((v) => v === 'skipped')) return 'error';
  return 'passed';
}

/** CLI and CI exit code: 0 all passed, 1 test failures, 2 infrastructure error or cancelled. */
export function exitCodeFor(status: RunStatus): number {
  if (status === 'passed') return 0;
  if (status === 'failed') return 1;
  return 2;
}
