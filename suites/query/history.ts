/** Narrows history to runs on one device, model or platform: `failrate[model=X]`. */
export interface HistoryScope {
  device?: string;
  model?: string;
  platform?: string;
}

export const HISTORY_SCOPE_KEYS = ['device', 'model', 'platform'] as const;

/**
 * What the query language needs from run history. The analysis/store side implements it; queries never
 * read the store directly. Every method returns undefined when there is no history for the test.
 */
export interface TestHistoryAccessor {
  isFlaky(testId: string): boolean | undefined;
  /** passed | failed | skipped | error of the latest run. */
  lastVerdict(testId: string, scope?: HistoryScope): string | undefined;
  /** Failed runs / all runs, 0..1. */
  failRate(testId: string, scope?: HistoryScope): number | undefined;
  /** Whether any of the latest `runs` runs failed. */
  failedInLast(testId: string, runs: number, scope?: HistoryScope): boolean | undefined;
}
