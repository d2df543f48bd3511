import type { Database } from 'better-sqlite3';
import type { CatalogEntry } from '../../suites/catalog/catalog.ts';

/** Creates the catalog tables; safe to run on every start. */
export function migrateCatalog(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS tests (
      id TEXT PRIMARY KEY,
      title TEXT NOT NULL,
      suite TEXT NOT NULL,
      component TEXT NOT NULL,
      owner TEXT NOT NULL,
      priority INTEGER NOT NULL,
      tags_json TEXT NOT NULL,
      requires_json TEXT NOT NULL,
      hash TEXT NOT NULL,
      source TEXT NOT NULL,
      first_seen TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS test_versions (
      id TEXT NOT NULL,
      hash TEXT NOT NULL,
      seen_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS test_versions_by_id ON test_versions (id, seen_at);
  `);
}

/** A stored catalog row, JSON columns decoded. */
export interface StoredTest {
  id: string;
  title: string;
  suite: string;
  component: string;
  owner: string;
  priority: number;
  tags: string[];
  requires: Record<string, unknown>;
  hash: string;
  source: string;
  firstSeen: string;
  updatedAt: string;
}

export interface TestVersion {
  id: string;
  hash: string;
  seenAt: string;
}

export interface CatalogSyncResult {
  added: string[];
  changed: string[];
  unchanged: number;
}

type CatalogRow = Omit<StoredTest, 'tags' | 'requires' | 'firstSeen' | 'updatedAt'> & {
  tags_json: string;
  requires_json: string;
  first_seen: string;
  updated_at: string;
};

/**
 * Upserts the catalog in one transaction. Rows are keyed by test id, so a new title or body updates the row
 * and appends a test_versions entry instead of starting a new history. Tests missing from `entries` are kept.
 */
export function syncCatalog(
  db: Database,
  entries: readonly CatalogEntry[],
  now: Date = new Date(),
): CatalogSyncResult {
  const at = now.toISOString();
  const current = db.prepare<[string], { hash: string }>('SELECT hash FROM tests WHERE id = ?');
  const upsert = db.prepare(`
    INSERT INTO tests (id, title, suite, component, owner, priority, tags_json, requires_json, hash, source, first_seen, updated_at)
    VALUES (@id, @title, @suite, @component, @owner, @priority, @tags_json, @requires_json, @hash, @source, @at, @at)
    ON CONFLICT (id) DO UPDATE SET
      title = excluded.title, suite = excluded.suite, component = excluded.component, owner = excluded.owner,
      priority = excluded.priority, tags_json = excluded.tags_json, requires_json = excluded.requires_json,
      hash = excluded.hash, source = excluded.source,
      updated_at = CASE WHEN tests.hash = excluded.hash THEN tests.updated_at ELSE excluded.updated_at END
  `);
  const addVersion = db.prepare('INSERT INTO test_versions (id, hash, seen_at) VALUES (?, ?, ?)');
  const result: CatalogSyncResult = { added: [], changed: [], unchanged: 0 };
  db.transaction(() => {
    for (const entry of entries) {
      const before = current.get(entry.id);
      upsert.run({
        id: entry.id,
        title: entry.title,
        suite: entry.suite,
        component: entry.component,
        owner: entry.owner,
        priority: entry.priority,
        tags_json: JSON.stringify(entry.tags),
        requires_json: JSON.stringify(entry.requires),
        hash: entry.hash,
        source: entry.source,
        at,
      });
      if (before === undefined) result.added.push(entry.id);
      else if (before.hash !== entry.hash) result.changed.push(entry.id);
      else result.unchanged++;
      if (before?.hash !== entry.hash) addVersion.run(entry.id, entry.hash, at);
    }
  })();
  return result;
}

function fromRow(row: CatalogRow): StoredTest {
  return {
    id: row.id,
    title: row.title,
    suite: row.suite,
    component: row.component,
    owner: row.owner,
    priority: row.priority,
    tags: JSON.parse(row.tags_json) as string[],
    requires: JSON.parse(row.requires_json) as Record<string, unknown>,
    hash: row.hash,
    source: row.source,
    firstSeen: row.first_seen,
    updatedAt: row.updated_at,
  };
}

export function getStoredTest(db: Database, id: string): StoredTest | undefined {
  const row = db.prepare<[string], CatalogRow>('SELECT * FROM tests WHERE id = ?').get(id);
  return row === undefined ? undefined : fromRow(row);
}

export function listStoredTests(db: Database): StoredTest[] {
  return db.prepare<[], CatalogRow>('SELECT * FROM tests ORDER BY id').all().map(fromRow);
}

/** Every content version a test has had, oldest first. */
export function listTestVersions(db: Database, id: string): TestVersion[] {
  return db
    .prepare<[string], { id: string; hash: string; seen_at: string }>(
      'SELECT id, hash, seen_at FROM test_versions WHERE id = ? ORDER BY seen_at, rowid',
    )
    .all(id)
    .map((r) => ({ id: r.id, hash: r.hash, seenAt: r.seen_at }));
}
