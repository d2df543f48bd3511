import type { ReportData } from '../../analysis/report/build.ts';
import type { LabHistory } from './lab-history.ts';
import type { ModelTrainer } from './model-trainer.ts';
import { siblingModule } from '../config/project-root.ts';
import { runInProcess } from './run-in-process.ts';
import type { ReportJob } from './report-worker.ts';

const REPORT_WORKER = siblingModule('report-worker', import.meta.url);

/** The failure-prediction report as HTML and as data, of one partner's runs or (null) the lab's (`/api/report`). */
export interface ReportProvider {
  html(partner: string | null): Promise<string>;
  data(partner: string | null): Promise<ReportData>;
}

type Built = { data: ReportData; html: string };

/** Reports kept at once (the lab's and the partners' most recently asked); one more drops the oldest. */
const KEPT_REPORTS = 16;

/**
 * The failure-prediction report of the lab's own history, scored by the active model: built in a helper
 * process, and once per (scope, history, model version): asking again before a run finished or a model was
 * swapped in answers the same report. A scope is one partner's runs only (what a partner's token reads)
 * or, with null, every partner's (admins).
 */
export function predictionReport(
  storeFile: string,
  history: LabHistory,
  trainer: ModelTrainer,
  /** Hears what the report's helper process prints on stderr (its warnings); its failure is the answer's. */
  log?: (line: string) => void,
): ReportProvider {
  const cached = new Map<string, { key: string; built: Promise<Built> }>();
  const build = (partner: string | null): Promise<Built> => {
    const version = trainer.current()?.version ?? null;
    const key = `${history.state.cycles}:${version}`;
    const scope = partner === null ? '' : `partner:${partner}`;
    const hit = cached.get(scope);
    cached.delete(scope);
    if (hit?.key === key) {
      cached.set(scope, hit);
      return hit.built;
    }
    const job: ReportJob = { storeFile, modelsDir: trainer.dir, version, bounds: history.bounds(), partner };
    const built = runInProcess<Built>(REPORT_WORKER, job, log);
    const entry = { key, built };
    cached.set(scope, entry);
    for (const oldest of cached.keys()) {
      if (cached.size <= KEPT_REPORTS) break;
      cached.delete(oldest);
    }
    // A failed build is not kept: the next request tries again. Its error is not dropped here: every
    // request awaits `built` and gets it (the API answers 5xx and its error log has the cause).
    built.catch(() => {
      if (cached.get(scope) === entry) cached.delete(scope);
    });
    return built;
  };
  return {
    html: async (partner) => (await build(partner)).html,
    data: async (partner) => (await build(partner)).data,
  };
}
