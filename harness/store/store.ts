import { ArtifactsRepo } from './artifacts-repo.ts';
import { AttemptsRepo } from './attempts-repo.ts';
import { type Db, openDatabase } from './database.ts';
import { EventsRepo } from './events-repo.ts';
import { HistoryRepo } from './history-repo.ts';
import { JobsRepo } from './jobs-repo.ts';
import { RunsRepo } from './runs-repo.ts';

/** The control plane's SQLite store: one writer (the server), repos per table family. */
export class Store {
  readonly runs: RunsRepo;
  readonly jobs: JobsRepo;
  readonly attempts: AttemptsRepo;
  readonly artifacts: ArtifactsRepo;
  readonly events: EventsRepo;
  readonly history: HistoryRepo;

  constructor(readonly db: Db) {
    this.runs = new RunsRepo(db);
    this.jobs = new JobsRepo(db);
    this.attempts = new AttemptsRepo(db);
    this.artifacts = new ArtifactsRepo(db);
    this.events = new EventsRepo(db);
    this.history = new HistoryRepo(db);
  }

  static open(file: string): Store {
    return new Store(openDatabase(file));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
