import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { WriteBatch } from '../../../harness/server/write-batch.ts';

/** The control plane's write grouping, on a real (in-memory) SQLite database. */
describe('WriteBatch', () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  let commits = 0;
  const batch = new WriteBatch(<T>(writes: () => T): T => {
    const result = db.transaction(writes)();
    commits++;
    return result;
  });
  const rows = () => db.prepare('SELECT k, v FROM t ORDER BY k').all();

  afterEach(() => {
    db.exec('DELETE FROM t');
    commits = 0;
  });

  it('commits the writes of one event-loop turn together and resolves each with its own result', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c'].map((k, i) => batch.submit(() => insert.run(k, i).changes + i)),
    );
    expect(results).toEqual([1, 2, 3]);
    expect(commits).toBe(1);
    expect(rows()).toEqual([
      { k: 'a', v: 0 },
      { k: 'b', v: 1 },
      { k: 'c', v: 2 },
    ]);
  });

  it('a write that throws rejects alone: the group is rolled back and the others commit on their own', async () => {
    const outcomes = await Promise.allSettled([
      batch.submit(() => insert.run('a', 1)),
      batch.submit(() => insert.run('a', 2)), // primary key taken
      batch.submit(() => insert.run('b', 3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE constraint failed/);
    // Nothing of the failed write and nothing twice: each other write committed exactly once.
    expect(rows()).toEqual([
      { k: 'a', v: 1 },
      { k: 'b', v: 3 },
    ]);
  });

  it('writes submitted in a later turn go in a later commit', async () => {
    await batch.submit(() => insert.run('a', 1));
    await batch.submit(() => insert.run('b', 2));
    expect(commits).toBe(2);
  });
});
