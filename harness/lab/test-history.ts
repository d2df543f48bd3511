import type { HistoryScope, TestHistoryAccessor } from '../../suites/query/history.ts';
import type { Verdict } from '../protocol/verdict.ts';
import type { FinishedJob } from '../store/history-repo.ts';

const FAILING: ReadonlySet<Verdict> = new Set(['failed', 'timed-out', 'error']);

/** Query-language verdict names: the store's verdicts folded onto passed | failed | skipped | error. */
function queryVerdict(v: Verdict): string {
  if (v === 'flaky') return 'passed';
  if (v === 'timed-out') return 'failed';
  return v;
}

/**
 * The query language's history fields (`flaky`, `last_verdict`, `failrate`, `failed_in_last`) over the
 * store's finished jobs, indexed once per request.
 */
export function testHistoryAccessor(jobs: readonly FinishedJob[]): TestHistoryAccessor {
  const byTest = new Map<string, FinishedJob[]>();
  for (const job of jobs) {
    const list = byTest.get(job.testId);
    if (list) list.push(job);
    else byTest.set(job.testId, [job]);
  }
  const scoped = (testId: string, scope?: HistoryScope): FinishedJob[] => {
    const list = byTest.get(testId) ?? [];
    if (!scope) return list;
    return list.filter(
      (j) =>
        (scope.device === undefined || j.deviceId === scope.device) &&
        (scope.model === undefined || j.model === scope.model) &&
        (scope.platform === undefined || j.platform === scope.platform),
    );
  };
  return {
    isFlaky(testId) {
      const list = byTest.get(testId);
      if (!list) return undefined;
      return list.slice(-20).some((j) => j.verdict === 'flaky');
    },
    lastVerdict(testId, scope) {
      const last = scoped(testId, scope).at(-1);
      return last && queryVerdict(last.verdict);
    },
    failRate(testId, scope) {
      const list = scoped(testId, scope);
      if (list.length === 0) return undefined;
      return list.filter((j) => FAILING.has(j.verdict)).length / list.length;
    },
    failedInLast(testId, runs, scope) {
      const list = scoped(testId, scope);
      if (list.length === 0) return undefined;
      // The last N runs of the test, each run counting once however many devices it covered.
      const recent = new Set<string>();
      for (let i = list.length - 1; i >= 0 && recent.size <= runs; i--) recent.add(list[i]!.runId);
      const keep = new Set([...recent].slice(0, runs));
      return list.some((j) => keep.has(j.runId) && FAILING.has(j.verdict));
    },
  };
}
