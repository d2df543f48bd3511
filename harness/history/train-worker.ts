import Database from 'better-sqlite3';
import { initBackend } from '../../analysis/backend.ts';
import type { Cycle } from '../../analysis/history/cycles.ts';
import { FailureModel } from '../../analysis/model/failure-model.ts';
import { activeVersion, loadModelVersion, saveModelVersion } from '../../analysis/model/store.ts';
import { replayCycles } from '../../analysis/model/train-history.ts';
import { type HistoryBounds, HistoryRepo } from '../store/history-repo.ts';
import { runCycle } from './history-rows.ts';

export interface TrainJob {
  storeFile: string;
  modelsDir: string;
  bounds: HistoryBounds;
}

export type TrainOutcome =
  | { kind: 'saved'; version: string; rows: number; positives: number; backend: string; ms: number }
  | { kind: 'skipped'; reason: string; rows: number };

/**
 * A training, in a helper process (harness/history/run-in-process.ts): streams the newest history (the service's bounds) out of the store
 * through its own read-only connection, warm-starts from the active model version (a copy: the serving
 * model is never touched), fits, and saves a new version without activating it. The control plane loads
 * that version and swaps it in (harness/history/model-trainer.ts).
 */
export async function run(job: TrainJob): Promise<TrainOutcome> {
  const t0 = Date.now();
  const db = new Database(job.storeFile, { readonly: true, fileMustExist: true });
  try {
    const repo = new HistoryRepo(db);
    const backend = await initBackend();
    const model = (await activeVersion(job.modelsDir))
      ? await loadModelVersion(job.modelsDir)
      : FailureModel.create();
    const extent = repo.extent(job.bounds);
    const cycles = function* (): Generator<Cycle> {
      for (const jobs of repo.finishedRuns(job.bounds, extent.from)) {
        const cycle = runCycle(jobs);
        if (cycle) yield cycle;
      }
    };
    // Sized once for the rows it will read: no doubling of the arrays, no spare half.
    const { set } = replayCycles(cycles(), model.config, extent.rows);
    // A model learns nothing from a history without failures.
    if (set.positives === 0)
      return { kind: 'skipped', reason: 'no test failure in the history', rows: set.n };
    // The set is this worker's own and dropped after: shuffled in place rather than copied.
    const report = await model.train(set.slice(0, set.n), { inPlace: true });
    const version = await saveModelVersion(job.modelsDir, model, false);
    return {
      kind: 'saved',
      version,
      rows: report.rows,
      positives: report.positives,
      backend: backend.name,
      ms: Date.now() - t0,
    };
  } finally {
    db.close();
  }
}
