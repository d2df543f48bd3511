import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

describe('better-sqlite3 v12 on a real file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-sqlite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes in WAL mode, closes, reopens and reads the rows back', () => {
    const file = path.join(dir, 'lab.db');
    const db = new Database(file);
    expect(db.pragma('journal_mode = WAL', { simple: true })).toBe('wal');
    db.exec('CREATE TABLE verdicts (test TEXT, device TEXT, verdict TEXT)');
    const insert = db.prepare('INSERT INTO verdicts VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 100; i++)
        insert.run(`t${i}`, i % 2 ? 'tv' : 'stb', i % 10 === 0 ? 'failed' : 'passed');
    })();
    db.close();
    expect(statSync(file).size).toBeGreaterThan(0);
    const again = new Database(file, { readonly: true });
    const rows = again
      .prepare('SELECT verdict, count(*) AS n FROM verdicts GROUP BY verdict ORDER BY verdict')
      .all();
    again.close();
    expect(rows).toEqual([
      { verdict: 'failed', n: 10 },
      { verdict: 'passed', n: 90 },
    ]);
  });
});
