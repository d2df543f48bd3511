import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { historyCsvHeader, historyCsvRecord } from '../../analysis/history/csv.ts';
import { HistoryRepo } from '../store/history-repo.ts';
import { historyRows } from './history-rows.ts';

/** Every finished run, whatever its age or the history window (an export is the whole record). */
const EVERYTHING = { sinceMs: 0, maxRows: Number.MAX_SAFE_INTEGER };

/**
 * The lab's history as history CSV text (the columns `devlab analysis report|evaluate|import` read), one
 * chunk per finished run, oldest first: the header, then each run's rows. `partner`: that partner's runs
 * only; null: every partner's. One run is held at a time.
 */
export function* historyCsvChunks(repo: HistoryRepo, partner: string | null): Generator<string> {
  yield historyCsvHeader();
  for (const jobs of repo.finishedRuns(EVERYTHING, 0)) {
    if (partner !== null && jobs[0]?.partner !== partner) continue;
    const rows = historyRows(jobs);
    if (rows.length > 0) yield rows.map(historyCsvRecord).join('');
  }
}

/**
 * The history CSV of the store at `storeFile`, streamed from a read-only connection of its own (the
 * control plane's connection is never held by a slow reader); the connection closes when the stream ends
 * or is destroyed.
 */
export function historyCsvStream(storeFile: string, partner: string | null): Readable {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  function* chunks(): Generator<string> {
    try {
      yield* historyCsvChunks(new HistoryRepo(db), partner);
    } finally {
      db.close();
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
