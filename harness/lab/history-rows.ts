import type { HistoryRow, Verdict as HistoryVerdict } from '../../analysis/history/row.ts';
import type { Verdict } from '../protocol/verdict.ts';
import type { FinishedJob } from '../store/history-repo.ts';

/** Store verdicts as analysis sees them: a timeout is a failure, an infrastructure error stays an error. */
const VERDICT_MAP: Record<Verdict, HistoryVerdict | null> = {
  passed: 'pass',
  failed: 'fail',
  'timed-out': 'fail',
  flaky: 'flaky',
  error: 'error',
  skipped: 'skipped',
  cancelled: null,
};

/** The store's finished jobs as analysis history rows: one cycle per run. */
export function historyRows(jobs: readonly FinishedJob[]): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const job of jobs) {
    const verdict = VERDICT_MAP[job.verdict];
    if (!verdict) continue;
    rows.push({
      cycle: job.runId,
      time: new Date(job.runCreatedAt).toISOString(),
      test: job.testId,
      device: job.deviceId,
      ...(job.model ? { deviceModel: job.model } : {}),
      ...(job.firmware ? { firmware: job.firmware } : {}),
      build: job.build,
      verdict,
      durationS: job.durationMs / 1000,
      ...(job.signature ? { signature: job.signature } : {}),
      ...(job.component ? { component: job.component } : {}),
      changed: job.changed,
    });
  }
  return rows;
}
