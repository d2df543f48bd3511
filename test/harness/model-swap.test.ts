import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idColumns } from '../../analysis/model/failure-model.ts';
import { loadModelVersion } from '../../analysis/model/store.ts';
import { featureMatrix } from '../../analysis/features/vector.ts';
import { LabHistory } from '../../harness/history/lab-history.ts';
import { ModelTrainer } from '../../harness/history/model-trainer.ts';
import { Store } from '../../harness/store/store.ts';
import { seedFinishedRun } from '../support/seed-history.ts';

const DAY = 24 * 3600_000;

describe('model training happens on a copy and swaps in whole', () => {
  let home: string;
  let store: Store;
  let history: LabHistory;
  let trainer: ModelTrainer;

  beforeAll(() => {
    home = mkdtempSync(path.join(tmpdir(), 'devlab-swap-'));
    store = Store.open(path.join(home, 'devlab.db'));
    const now = Date.now();
    for (let r = 0; r < 40; r++) {
      const jobs = [];
      for (let t = 0; t < 12; t++)
        for (const device of ['tv-1', 'tv-2', 'tv-3'])
          jobs.push({
            test: `t${t}`,
            device,
            model: device === 'tv-3' ? 'M2' : 'M1',
            verdict:
              (t === 3 && device === 'tv-3') || (t * 7 + r) % 11 === 0
                ? ('failed' as const)
                : ('passed' as const),
          });
      seedFinishedRun(store, { at: now - ((41 - r) * DAY) / 2, jobs });
    }
    history = new LabHistory(store, { windowDays: 90, maxRows: 1_000_000 });
    history.load();
    trainer = ModelTrainer.forHome(home, {
      storeFile: path.join(home, 'devlab.db'),
      bounds: () => history.bounds(),
    });
  });
  afterAll(() => {
    store.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a ranking during a training scores with one saved version, never with weights being fitted', async () => {
    trainer.schedule();
    await trainer.idle();
    const first = trainer.current();
    expect(first?.version).toBe('v0001');

    const queries = ['t3', 't4'].flatMap((test) =>
      ['tv-1', 'tv-3'].map((device) => ({
        test,
        device,
        deviceModel: device === 'tv-3' ? 'M2' : 'M1',
        firmware: '1.0',
      })),
    );
    const predict = () => {
      // What a ranking does: read the active version once, score every pair with it.
      const active = trainer.current()!;
      const dense = featureMatrix(history.state, queries, {});
      const p = active.model.predict({
        n: queries.length,
        dense,
        ...idColumns(queries, active.model.config),
      });
      return { version: active.version, scores: Array.from(p) };
    };
    const before = predict();

    // The second training runs in a worker; rank as often as the event loop allows meanwhile.
    trainer.schedule();
    const during: ReturnType<typeof predict>[] = [];
    let training = true;
    const done = trainer.idle().then(() => {
      training = false;
    });
    while (training) {
      during.push(predict());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await done;
    const after = predict();

    expect(during.length).toBeGreaterThan(3);
    expect(after.version).toBe('v0002');
    // Every ranking used one saved version: v0001's exact scores until the swap, v0002's after it.
    const saved = new Map<string, number[]>();
    for (const version of ['v0001', 'v0002']) {
      const model = await loadModelVersion(trainer.dir, version);
      const dense = featureMatrix(history.state, queries, {});
      saved.set(
        version,
        Array.from(model.predict({ n: queries.length, dense, ...idColumns(queries, model.config) })),
      );
      model.dispose();
    }
    for (const ranking of [before, ...during, after]) {
      expect(ranking.scores).toEqual(saved.get(ranking.version));
    }
    expect(during.filter((r) => r.version === 'v0001').length).toBeGreaterThan(0);
    expect(saved.get('v0001')).not.toEqual(saved.get('v0002'));
  }, 120_000);
});
