import Database from 'better-sqlite3';
import { initBackend } from '../../analysis/backend.ts';
import { loadModelVersion } from '../../analysis/model/store.ts';
import { buildReportData, type ReportData } from '../../analysis/report/build.ts';
import { renderReportHtml } from '../../analysis/report/html.ts';
import { type HistoryBounds, HistoryRepo } from '../store/history-repo.ts';
import { historyRows } from './history-rows.ts';

export interface ReportJob {
  storeFile: string;
  modelsDir: string;
  /** The model version active when the report was asked for (null: none yet). */
  version: string | null;
  bounds: HistoryBounds;
  /** One partner's runs only (a partner's own report), or null for every partner's (the lab's). */
  partner?: string | null;
}

/**
 * The failure-prediction report of the lab's own history, built in a helper process: it reads the newest
 * history (the service's bounds) through its own read-only connection and scores it with the given model
 * version, so that a report on a million rows never stalls the control plane. A partner's report reads the
 * same window and keeps that partner's runs only.
 */
export async function run(job: ReportJob): Promise<{ data: ReportData; html: string }> {
  const db = new Database(job.storeFile, { readonly: true, fileMustExist: true });
  try {
    const repo = new HistoryRepo(db);
    const rows = historyRows(
      (function* () {
        for (const jobs of repo.finishedRuns(job.bounds))
          if (!job.partner || jobs[0]?.partner === job.partner) yield* jobs;
      })(),
    );
    let model = null;
    if (job.version) {
      await initBackend();
      model = await loadModelVersion(job.modelsDir, job.version);
    }
    const title = job.partner
      ? `devlab failure prediction: ${job.partner}\u2019s runs`
      : 'devlab failure prediction';
    const data = buildReportData({ title, rows, model });
    model?.dispose();
    return { data, html: renderReportHtml(data) };
  } finally {
    db.close();
  }
}
