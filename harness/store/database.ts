import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

/** WAL pages after which a commit checkpoints (when no Checkpointer does it in the background). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * Opens (or creates) the lab store: WAL so that readers (API, dashboard) never block the writer,
 * a busy timeout for the rare second writer, and every pending migration applied in order.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  cacheStatements(db);
  return db;
}

/**
 * Repositories prepare their SQL where they use it; compiling it once per connection instead of on every
 * call is most of the cost of a small query. Statements are never put in raw/pluck mode, and the only
 * iterated ones (the history replay, harness/store/history-repo.ts) are run to their end without yielding
 * to the event loop, so sharing one per SQL text is safe.
 */
function cacheStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  }) as Db['prepare'];
}

export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return MIGRATIONS.length;
}

/** The store file under the data dir. */
export function storePath(home: string): string {
  return path.join(home, 'devlab.db');
}
