import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../harness/store/checkpointer.ts';
import { Store } from '../../harness/store/store.ts';
import { seedFinishedRun } from '../support/seed-history.ts';

describe('WAL checkpoints off the event loop', () => {
  let home: string;
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('commits leave the database file alone; the background thread copies the WAL into it', async () => {
    home = mkdtempSync(path.join(tmpdir(), 'devlab-ckpt-'));
    const file = path.join(home, 'devlab.db');
    const store = Store.open(file);
    const checkpointer = Checkpointer.start(store.db, { intervalMs: 200 });
    const before = statSync(file).size;
    const jobs = Array.from({ length: 3000 }, (_, i) => ({
      test: `t${i}`,
      device: 'tv-1',
      verdict: 'passed' as const,
    }));
    seedFinishedRun(store, { at: Date.now(), jobs });
    // The commit itself did not checkpoint: the rows are in the WAL only.
    expect(statSync(file).size).toBe(before);
    await expect.poll(() => statSync(file).size, { timeout: 5000, interval: 50 }).toBeGreaterThan(before);
    await checkpointer.stop();
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    store.close();
  });
});
