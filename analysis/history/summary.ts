import { groupCycles } from './cycles.ts';
import { readHistoryCsv } from './csv.ts';
import { readJunitDir } from './junit.ts';
import type { HistoryRow } from './row.ts';

export interface HistorySummary {
  rows: number;
  cycles: number;
  failingCycles: number;
  tests: number;
  devices: number;
  deviceModels: number;
  failures: number;
  verdicts: Record<string, number>;
}

export function summarizeHistory(rows: readonly HistoryRow[]): HistorySummary {
  const cycles = groupCycles(rows);
  const verdicts: Record<string, number> = {};
  for (const r of rows) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  return {
    rows: rows.length,
    cycles: cycles.length,
    failingCycles: cycles.filter((c) => c.pairs.some((p) => p.failed)).length,
    tests: new Set(rows.map((r) => r.test)).size,
    devices: new Set(rows.map((r) => r.device)).size,
    deviceModels: new Set(rows.flatMap((r) => (r.deviceModel ? [r.deviceModel] : []))).size,
    failures: cycles.reduce((n, c) => n + c.pairs.filter((p) => p.failed).length, 0),
    verdicts,
  };
}

export type HistorySource = { csv: string } | { junit: string; defaultDevice?: string };

/**
 * Reads and validates an external history (CSV file or JUnit directory). The store imports
 * through this function; the CLI prints the summary.
 */
export async function importHistory(
  source: HistorySource,
): Promise<{ rows: HistoryRow[]; summary: HistorySummary }> {
  const rows =
    'csv' in source
      ? await readHistoryCsv(source.csv)
      : await readJunitDir(source.junit, source.defaultDevice);
  return { rows, summary: summarizeHistory(rows) };
}
