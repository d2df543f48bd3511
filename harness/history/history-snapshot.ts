import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { HistoryStateData } from '../../analysis/features/state.ts';
import type { QueryStatsData } from './query-stats.ts';
import type { RunTriageData } from './run-triage.ts';

/**
 * Bumped whenever what a snapshot holds changes shape: an older snapshot is then replayed instead.
 * 5: the state's change statistics hold pooled counts (analysis/features/change.ts).
 * 6: the history fields keep a run's failure as the sign of its entry (harness/history/query-stats.ts).
 * 7: the state keeps the builds tests failed on (analysis/features/base-build.ts), and the service where
 *    earlier runs' failing jobs entered their order (harness/history/recall-calibration.ts).
 */
export const SNAPSHOT_FORMAT = 7;

/** The lab history service's state on disk, and the moment up to which it holds every finished job and run. */
export interface HistorySnapshot {
  format: number;
  /** Every job and run that finished at or before this time (epoch ms) is in the snapshot; later ones are not. */
  upToMs: number;
  windowDays: number;
  maxRows: number;
  /** The lab-wide state (scores). */
  state: HistoryStateData;
  /** Each partner's own runs (the reasons it reads), by partner id. Since format 2. */
  partnerStates: Map<string, HistoryStateData>;
  queries: QueryStatsData;
  durations: Map<string, { ms: number; n: number }>;
  /** Each partner's triage trails and the kept triage of revealed runs. Since format 3. */
  triage: RunTriageData;
  /** Where earlier runs' failing jobs entered their order, oldest first (`--confidence`'s cut). Since format 7. */
  recall: number[];
}

/** `<home>/history/snapshot.bin`. */
export function snapshotPath(home: string): string {
  return path.join(home, 'history', 'snapshot.bin');
}

/** Writes atomically (temp file, then rename): a crash mid-write leaves the previous snapshot. */
export function writeSnapshot(file: string, snapshot: HistorySnapshot): number {
  mkdirSync(path.dirname(file), { recursive: true });
  const bytes = serialize(snapshot);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return bytes.length;
}

/** The snapshot at `file`, or why there is none to use. */
export function readSnapshot(file: string): HistorySnapshot | string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    // Said to the caller, which logs why the history is replayed instead (LabHistory.load's note).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'no snapshot';
    return `snapshot not readable (${file}): ${(err as Error).message}`;
  }
  try {
    const snapshot = deserialize(bytes) as HistorySnapshot;
    if (snapshot?.format !== SNAPSHOT_FORMAT)
      return `snapshot format ${snapshot?.format}, not ${SNAPSHOT_FORMAT}`;
    return snapshot;
  } catch (err) {
    return `unreadable snapshot: ${(err as Error).message}`;
  }
}
