import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  getStoredTest,
  listStoredTests,
  listTestVersions,
  migrateCatalog,
  syncCatalog,
} from '../../harness/store/catalog-repo.ts';
import type { CatalogEntry } from '../../suites/catalog/catalog.ts';

function entry(id: string, overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id,
    title: `title of ${id}`,
    tags: ['smoke'],
    component: 'player',
    owner: 'qa',
    priority: 2,
    timeoutMs: 1000,
    retries: 0,
    requires: { codecs: ['hevc'] },
    suite: 'samples',
    source: `/suites/samples/${id}.test-def.ts`,
    kind: 'code',
    hash: `hash-${id}-1`,
    definition: {} as CatalogEntry['definition'],
    ...overrides,
  };
}

describe('catalog repo (SQLite file)', () => {
  const open: Database.Database[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) if (db.open) db.close();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function database(): Promise<{ db: Database.Database; file: string }> {
    const dir = await mkdtemp(path.join(tmpdir(), 'devlab-catalog-'));
    dirs.push(dir);
    const file = path.join(dir, 'devlab.sqlite');
    const db = new Database(file);
    open.push(db);
    return { db, file };
  }

  it('creates its tables idempotently', async () => {
    const { db } = await database();
    migrateCatalog(db);
    migrateCatalog(db);
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    expect(tables).toEqual(['test_versions', 'tests']);
  });

  it('keeps history keyed by id across title and code changes', async () => {
    const { db, file } = await database();
    migrateCatalog(db);
    const t0 = new Date('2026-01-01T00:00:00Z');
    const t1 = new Date('2026-01-02T00:00:00Z');
    const t2 = new Date('2026-01-03T00:00:00Z');

    expect(syncCatalog(db, [entry('a'), entry('b')], t0)).toEqual({
      added: ['a', 'b'],
      changed: [],
      unchanged: 0,
    });
    const renamed = entry('a', { title: 'renamed', hash: 'hash-a-2', tags: ['smoke', 'new'] });
    expect(syncCatalog(db, [renamed, entry('b')], t1)).toEqual({ added: [], changed: ['a'], unchanged: 1 });
    expect(syncCatalog(db, [renamed], t2)).toEqual({ added: [], changed: [], unchanged: 1 });

    // Reopen the file: everything above was persisted.
    db.close();
    const reopened = new Database(file);
    open.push(reopened);
    expect(getStoredTest(reopened, 'a')).toEqual({
      id: 'a',
      title: 'renamed',
      suite: 'samples',
      component: 'player',
      owner: 'qa',
      priority: 2,
      tags: ['smoke', 'new'],
      requires: { codecs: ['hevc'] },
      hash: 'hash-a-2',
      source: '/suites/samples/a.test-def.ts',
      firstSeen: t0.toISOString(),
      updatedAt: t1.toISOString(),
    });
    expect(getStoredTest(reopened, 'b')?.updatedAt).toBe(t0.toISOString());
    expect(listTestVersions(reopened, 'a')).toEqual([
      { id: 'a', hash: 'hash-a-1', seenAt: t0.toISOString() },
      { id: 'a', hash: 'hash-a-2', seenAt: t1.toISOString() },
    ]);
    expect(listTestVersions(reopened, 'b')).toHaveLength(1);
    // A test missing from the latest sync keeps its row and history.
    expect(listStoredTests(reopened).map((t) => t.id)).toEqual(['a', 'b']);
    expect(getStoredTest(reopened, 'missing')).toBeUndefined();
  });
});
