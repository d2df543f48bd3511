import { buildReportData } from '../../analysis/report/build.ts';
import { renderReportHtml } from '../../analysis/report/html.ts';
import type { ReportProvider } from '../api/routes/report.ts';
import type { Store } from '../store/store.ts';
import { historyRows } from './history-rows.ts';
import type { ModelTrainer } from './model-trainer.ts';

/** The failure-prediction report of the lab's own history, scored by the active model. */
export function predictionReport(store: Store, trainer: ModelTrainer): ReportProvider {
  const data = () =>
    buildReportData({
      title: 'devlab failure prediction',
      rows: historyRows(store.history.finishedJobs({ sinceMs: Date.now() - 90 * 24 * 3600_000 })),
      model: trainer.current(),
    });
  return {
    html: async () => renderReportHtml(data()),
    data: async () => data(),
  };
}
