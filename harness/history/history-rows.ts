import { comparePairs, type Cycle, type CyclePair, pairKey } from '../../analysis/history/cycles.ts';
import { type HistoryRow, isFailure, isOutcome } from '../../analysis/history/row.ts';
import { historyVerdict } from '../protocol/verdict.ts';
import type { FinishedJob } from '../store/history-repo.ts';

/** The store's finished jobs as analysis history rows (verdicts mapped by harness/protocol/verdict.ts). */
export function historyRows(jobs: Iterable<FinishedJob>): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const job of jobs) {
    const verdict = historyVerdict(job.verdict);
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
      ...(job.baseBuild ? { baseBuild: job.baseBuild } : {}),
    });
  }
  return rows;
}

/**
 * One run's finished jobs as one analysis cycle (a run is a cycle), as `groupCycles(historyRows(jobs))`
 * would make it, without the rows in between; null when none of the jobs is history.
 */
export function runCycle(jobs: readonly FinishedJob[]): Cycle | null {
  const first = jobs[0];
  if (!first) return null;
  const pairs = new Map<string, CyclePair>();
  const changed = new Set<string>();
  for (const job of jobs) {
    for (const c of job.changed) changed.add(c);
    const verdict = historyVerdict(job.verdict);
    // An infrastructure error, a skip or a block says nothing about the test (analysis/history/row.ts).
    if (!verdict || !isOutcome(verdict)) continue;
    const failed = isFailure(verdict);
    const key = pairKey(job.testId, job.deviceId);
    const p = pairs.get(key);
    if (p) {
      p.mixed ||= p.failed !== failed || verdict === 'flaky';
      p.failed ||= failed;
      p.durationS += job.durationMs / 1000;
      continue;
    }
    const pair: CyclePair = {
      test: job.testId,
      device: job.deviceId,
      failed,
      mixed: verdict === 'flaky',
      durationS: job.durationMs / 1000,
      key,
    };
    if (job.model) pair.deviceModel = job.model;
    if (job.firmware) pair.firmware = job.firmware;
    if (job.component) pair.component = job.component;
    if (job.build) pair.build = job.build;
    pairs.set(key, pair);
  }
  if (pairs.size === 0) return null;
  const cycle: Cycle = {
    index: 0,
    id: first.runId,
    timeMs: first.runCreatedAt,
    changed: [...changed].sort(),
    // The canonical order, as groupCycles gives it: nothing depends on the order jobs were stored in.
    pairs: [...pairs.values()].sort(comparePairs),
  };
  if (first.baseBuild) cycle.baseBuild = first.baseBuild;
  return cycle;
}
