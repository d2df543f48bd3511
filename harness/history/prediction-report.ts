import type { ReportData } from '../../analysis/report/build.ts';
import type { ReportProvider } from '../api/routes/report.ts';
import type { LabHistory } from './lab-history.ts';
import type { ModelTrainer } from './model-trainer.ts';
import { runInProcess } from './run-in-process.ts';
import type { ReportJob } from './report-worker.ts';

const REPORT_WORKER = new URL('./report-worker.ts', import.meta.url);

type Built = { data: ReportData; html: string };

/**
 * The failure-prediction report of the lab's own history, scored by the active model: built in a helper process
 * thread, and once per (history, model version): asking again before a run finished or a model was
 * swapped in answers the same report.
 */
export function predictionReport(
  storeFile: string,
  history: LabHistory,
  trainer: ModelTrainer,
): ReportProvider {
  let cached: { key: string; built: Promise<Built> } | null = null;
  const build = (): Promise<Built> => {
    const version = trainer.current()?.version ?? null;
    const key = `${history.state.cycles}:${version}`;
    if (cached?.key !== key) {
      const job: ReportJob = { storeFile, modelsDir: trainer.dir, version, bounds: history.bounds() };
      const built = runInProcess<Built>(REPORT_WORKER, job);
      cached = { key, built };
      // A failed build is not kept: the next request tries again.
      built.catch(() => {
        if (cached?.built === built) cached = null;
      });
    }
    return cached.built;
  };
  return {
    html: async () => (await build()).html,
    data: async () => (await build()).data,
  };
}
