import path from 'node:path';
import { initBackend } from '../../analysis/backend.ts';
import { activeVersion, loadModelVersion, setActiveVersion } from '../../analysis/model/store.ts';
import type { HistoryBounds } from '../store/history-repo.ts';
import type { ActiveModel } from './history-ranker.ts';
import { siblingModule } from '../config/project-root.ts';
import { runInProcess } from './run-in-process.ts';
import type { TrainJob, TrainOutcome } from './train-worker.ts';

const TRAIN_WORKER = siblingModule('train-worker', import.meta.url);

export interface ModelTrainerOptions {
  /** The store file the worker reads the history from (its own read-only connection). */
  storeFile: string;
  /** Where model versions are saved (`<home>/models`). */
  dir: string;
  /** The history's bounds at the time of a training (the lab history's window). */
  bounds: () => HistoryBounds;
  log?: (line: string) => void;
}

/**
 * Keeps the failure model current off the request path: loads the active version at start; after runs
 * finish, trains in a helper process on a copy (warm start from the active version) and saves a new
 * version; then loads it and swaps it in at once. A ranking reads `current()` once, so it scores with one
 * version from start to end, never with weights being fitted.
 */
/** The active model version for one ranking: `release` it when done (a swapped-out version is freed then). */
export interface ModelLease {
  active: ActiveModel | null;
  release(): void;
}

export class ModelTrainer {
  private active: ActiveModel | null = null;
  /** Rankings using each version; a version swapped out is disposed once none uses it. */
  private readonly users = new Map<ActiveModel, number>();
  private readonly retired = new Set<ActiveModel>();
  private running: Promise<void> | null = null;
  private again = false;
  lastError: string | null = null;
  lastOutcome: TrainOutcome | null = null;
  readonly dir: string;

  constructor(private readonly options: ModelTrainerOptions) {
    this.dir = options.dir;
  }

  static forHome(home: string, options: Omit<ModelTrainerOptions, 'dir'>): ModelTrainer {
    return new ModelTrainer({ ...options, dir: path.join(home, 'models') });
  }

  /** The active model version (null until one is trained or loaded). */
  current(): ActiveModel | null {
    return this.active;
  }

  /** The active version, kept alive (not disposed by a swap) until released: what a ranking scores with. */
  acquire(): ModelLease {
    const active = this.active;
    if (active) this.users.set(active, (this.users.get(active) ?? 0) + 1);
    let released = false;
    return {
      active,
      release: () => {
        if (released || !active) return;
        released = true;
        const left = (this.users.get(active) ?? 1) - 1;
        if (left > 0) this.users.set(active, left);
        else {
          this.users.delete(active);
          if (this.retired.delete(active)) active.model.dispose();
        }
      },
    };
  }

  /**
   * Start-up: the TF.js backend (compiling its WebAssembly takes the event loop ~0.1-0.3 s: better now
   * than in the middle of serving, when the first trained version is swapped in), then the active version.
   */
  async loadActive(): Promise<void> {
    await initBackend();
    const version = await activeVersion(this.dir);
    if (!version) return;
    this.swap({ model: await loadModelVersion(this.dir, version), version });
  }

  /** Starts a training unless one is running, in which case one more follows it. */
  schedule(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.train()
      .catch((err: unknown) => {
        this.lastError = (err as Error).message;
        this.options.log?.(`model training failed: ${this.lastError}`);
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
    const job: TrainJob = {
      storeFile: this.options.storeFile,
      modelsDir: this.dir,
      bounds: this.options.bounds(),
    };
    const outcome = await runInProcess<TrainOutcome>(TRAIN_WORKER, job, this.options.log);
    this.lastOutcome = outcome;
    if (outcome.kind === 'skipped') {
      this.options.log?.(`model not trained: ${outcome.reason} (${outcome.rows} rows)`);
      return;
    }
    await initBackend();
    const model = await loadModelVersion(this.dir, outcome.version);
    this.swap({ model, version: outcome.version });
    await setActiveVersion(this.dir, outcome.version);
    this.lastError = null;
    this.options.log?.(
      `model ${outcome.version} trained on ${outcome.rows} history rows (${outcome.positives} failures, ${outcome.backend}, ${outcome.ms} ms) and active`,
    );
  }

  /** The new version replaces the old one at once; the old is disposed once no ranking uses it. */
  private swap(next: ActiveModel): void {
    const old = this.active;
    this.active = next;
    if (!old) return;
    if (this.users.has(old)) this.retired.add(old);
    else old.model.dispose();
  }
}
