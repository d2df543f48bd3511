import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { type Db, WAL_AUTOCHECKPOINT_PAGES } from './database.ts';

/** The checkpointing thread: plain CommonJS, so it needs no TypeScript loader. */
const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    // Another checkpoint at the same moment: the next tick does it.
    if (err && err.code !== 'SQLITE_BUSY') parentPort.postMessage(String(err.message));
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage(null);
});
`;

/**
 * Moves SQLite's WAL checkpoints off the control plane's event loop: the control plane's connection stops
 * checkpointing on commit (a commit that crossed the WAL threshold copied megabytes back to the database
 * file inside a submit), and a thread with its own connection runs a passive checkpoint every
 * `intervalMs` (a passive checkpoint never blocks a writer). Errors other than a concurrent checkpoint are
 * handed to `log`.
 */
export class Checkpointer {
  private constructor(
    private readonly worker: Worker,
    private readonly db: Db,
  ) {}

  static start(db: Db, options: { intervalMs?: number; log?: (line: string) => void } = {}): Checkpointer {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(CODE, {
      eval: true,
      workerData: { driver, file: db.name, intervalMs: options.intervalMs ?? 1000 },
    });
    worker.on('message', (message: string | null) => {
      if (message !== null) options.log?.(`store checkpoint failed: ${message}`);
    });
    worker.on('error', (err) => options.log?.(`store checkpointer stopped: ${err.message}`));
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    return new Checkpointer(worker, db);
  }

  /** A last checkpoint, then the thread ends; the connection checkpoints on commit again. */
  async stop(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    await done;
    await this.worker.terminate();
    this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  }
}
