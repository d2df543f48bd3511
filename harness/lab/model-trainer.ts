import path from 'node:path';
import { initBackend } from '../../analysis/backend.ts';
import { isFailure } from '../../analysis/history/row.ts';
import type { FailureModel } from '../../analysis/model/failure-model.ts';
import { activeVersion, loadModelVersion, saveModelVersion } from '../../analysis/model/store.ts';
import { trainOnHistory } from '../../analysis/model/train-history.ts';
import type { Store } from '../store/store.ts';
import { historyRows } from './history-rows.ts';

/**
 * Keeps the failure model current off the request path: loads the active version at start and retrains
 * (warm start) in the background after runs finish, saving each version under `<home>/models`.
 */
export class ModelTrainer {
  private model: FailureModel | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  lastError: string | null = null;

  constructor(
    private readonly store: Store,
    readonly dir: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  static forHome(store: Store, home: string, log?: (line: string) => void): ModelTrainer {
    return new ModelTrainer(store, path.join(home, 'models'), log);
  }

  current(): FailureModel | null {
    return this.model;
  }

  async loadActive(): Promise<void> {
    if (!(await activeVersion(this.dir))) return;
    await initBackend();
    this.model = await loadModelVersion(this.dir);
  }

  /** Starts a retrain unless one is running, in which case one more follows it. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.train()
      .catch((err: unknown) => {
        this.lastError = (err as Error).message;
        this.log(`model training failed: ${this.lastError}`);
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  /** Resolves when no training is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async train(): Promise<void> {
    const rows = historyRows(this.store.history.finishedJobs({ sinceMs: Date.now() - 180 * 24 * 3600_000 }));
    // A model learns nothing from a history without failures, or from a single run.
    if (!rows.some((r) => isFailure(r.verdict)) || new Set(rows.map((r) => r.cycle)).size < 1) return;
    await initBackend();
    const { model, report } = await trainOnHistory(rows, this.model ? { model: this.model } : {});
    const version = await saveModelVersion(this.dir, model);
    this.model = model;
    this.log(
      `model ${version} trained on ${rows.length} history rows (${JSON.stringify(report).slice(0, 120)})`,
    );
  }
}
