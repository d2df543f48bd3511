import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../analysis/backend.ts';
import type { HistoryRow } from '../../analysis/history/row.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import { type FailureModel, idColumns } from '../../analysis/model/failure-model.ts';
import { activeVersion, loadModelVersion, saveModelVersion } from '../../analysis/model/store.ts';
import { trainOnHistory } from '../../analysis/model/train-history.ts';
import { featureMatrix } from '../../analysis/features/vector.ts';
import { HistoryState, type PairQuery } from '../../analysis/features/state.ts';
import {
  EVIDENCE_FLOOR,
  MIN_POSITIVES_TO_GENERALIZE,
  novelty,
  rankPairs,
  scorePairs,
} from '../../analysis/ranking/rank.ts';
import { seededRandom } from '../../analysis/model/hash.ts';
import type { HoldoutCheck } from '../../analysis/model/holdout.ts';
import { decayedFailureScore } from '../../analysis/features/heuristic.ts';

/** 60 cycles; `play_hevc` fails on the model without HEVC (stick-r3) and passes elsewhere. */
function defectHistory(): HistoryRow[] {
  const rnd = seededRandom(3);
  const devices = [
    { id: 'tv-1', model: 'tv-s9' },
    { id: 'tv-2', model: 'tv-s9' },
    { id: 'stick-1', model: 'stick-r3' },
    { id: 'stick-2', model: 'stick-r3' },
  ];
  const tests = ['play_hevc', 'play_h264', 'ui_home', 'epg_grid', 'subs_on'];
  const rows: HistoryRow[] = [];
  for (let c = 1; c <= 60; c++)
    for (const d of devices)
      for (const t of tests) {
        const defect = t === 'play_hevc' && d.model === 'stick-r3';
        const failed = defect ? rnd() < 0.9 : rnd() < 0.03;
        rows.push({
          cycle: String(c),
          test: t,
          device: d.id,
          deviceModel: d.model,
          firmware: '1.0',
          verdict: failed ? 'fail' : 'pass',
          durationS: 10,
        });
      }
  return rows;
}

const queries: PairQuery[] = [
  { test: 'play_hevc', device: 'stick-1', deviceModel: 'stick-r3', firmware: '1.0' },
  { test: 'play_hevc', device: 'tv-1', deviceModel: 'tv-s9', firmware: '1.0' },
  { test: 'ui_home', device: 'stick-1', deviceModel: 'stick-r3', firmware: '1.0' },
];

describe('failure model on the wasm backend', () => {
  let trained: Awaited<ReturnType<typeof trainOnHistory>>;

  beforeAll(async () => {
    const backend = await initBackend();
    expect(['wasm', 'tensorflow', 'cpu']).toContain(backend.name);
    trained = await trainOnHistory(defectHistory(), { train: { epochs: 20, batchSize: 64 } });
  });

  it('learns a device-specific defect', () => {
    const n = queries.length;
    const p = trained.model.predict({
      n,
      dense: featureMatrix(trained.state, queries, {}),
      ...idColumns(queries, trained.model.config),
    });
    expect(trained.model.trainings).toBe(1);
    // queries: play_hevc on stick-1 (no HEVC), on tv-1, ui_home on stick-1
    expect(p[0]).toBeGreaterThan(p[1]! + 0.2);
    expect(p[0]).toBeGreaterThan(p[2]!);
    const ranked = rankPairs(trained.state, trained.model, queries);
    expect(ranked[0]!.test).toBe('play_hevc');
    expect(ranked[0]!.device).toBe('stick-1');
    expect(ranked[0]!.reasons.join(' ')).toMatch(/failed \d of the last 5 runs/);
  });

  it('ranks by the failure evidence until the model earned trust, on held-out rows or by its failure count', () => {
    const fresh: PairQuery[] = [
      { test: 'brand_new_a', device: 'stick-1', deviceModel: 'stick-r3', firmware: '1.0' },
      { test: 'brand_new_b', device: 'tv-1', deviceModel: 'tv-s9', firmware: '1.0' },
      queries[0]!,
      queries[2]!,
    ];
    // A model that answers 0.2 everywhere shows which source a score came from. Its fit held the real
    // model's failure count, below the events-per-variable bound.
    expect(trained.model.fitPositives).toBeGreaterThan(20);
    expect(trained.model.fitPositives).toBeLessThan(MIN_POSITIVES_TO_GENERALIZE);
    const flat = (holdout: HoldoutCheck | null): FailureModel =>
      Object.assign(Object.create(trained.model) as FailureModel, {
        predict: (ex: { n: number }) => new Float32Array(ex.n).fill(0.2),
        holdout,
      });
    const evidence = queries.map((q) => EVIDENCE_FLOOR - Math.expm1(-decayedFailureScore(trained.state, q)));
    // New tests (never ran: test, pair and test-on-firmware new) score 3/3 of a tenth of the floor.
    const evidenceOrder = [EVIDENCE_FLOOR / 10, EVIDENCE_FLOOR / 10, evidence[0]!, evidence[2]!];
    expect(evidence[0]).toBeGreaterThan(0.5);

    // Nothing held out to compare on, too few failures: the failure evidence, then novelty.
    expect(Array.from(scorePairs(trained.state, flat(null), fresh, {}))).toEqual(evidenceOrder);
    // With enough failures (here: the bound lowered), the model ranks never-failed pairs too.
    const open = scorePairs(trained.state, flat(null), fresh, {}, { minPositives: 0 });
    expect(Array.from(open.subarray(0, 2))).toEqual([0.20000000298023224, 0.20000000298023224]);
    expect(open[2]).toBeGreaterThan(0.2);
    expect(open[2]).not.toBe(evidenceOrder[2]);

    // Held-out rows decide when they hold failures: the model ranks only if it ranked them better.
    const won = { rows: 120, failures: 10, modelAuc: 0.9, evidenceAuc: 0.8 };
    const lost = { ...won, modelAuc: 0.8, evidenceAuc: 0.9 };
    expect(Array.from(scorePairs(trained.state, flat(won), fresh, {}))).toEqual(Array.from(open));
    expect(Array.from(scorePairs(trained.state, flat(lost), fresh, {}, { minPositives: 0 }))).toEqual(
      evidenceOrder,
    );
    // Two held-out failures are too few to compare: back to the failure count.
    const thin = { ...lost, failures: 2 };
    expect(Array.from(scorePairs(trained.state, flat(thin), fresh, {}))).toEqual(evidenceOrder);
    expect(Array.from(scorePairs(trained.state, flat(thin), fresh, {}, { minPositives: 0 }))).toEqual(
      Array.from(open),
    );
  });

  it('orders pairs without failures by novelty, below every pair with a failure, while untrusted', () => {
    const s = new HistoryState();
    const row = (test: string, verdict: 'pass' | 'fail'): HistoryRow => ({
      cycle: '1',
      test,
      device: 'd1',
      deviceModel: 'm',
      firmware: '1.0',
      verdict,
      durationS: 1,
    });
    for (const c of groupCycles([row('a', 'pass'), row('b', 'fail')])) s.update(c);
    const q = (test: string, device: string, firmware: string): PairQuery => ({
      test,
      device,
      deviceModel: 'm',
      firmware,
    });
    const pairs = [
      q('a', 'd1', '1.0'),
      q('a', 'd2', '1.0'),
      q('a', 'd1', '2.0'),
      q('c', 'd1', '1.0'),
      q('b', 'd1', '1.0'),
    ];
    expect(pairs.map((p) => novelty(s, p))).toEqual([0, 1, 1, 3, 0]);
    const untrusted = Object.assign(Object.create(trained.model) as FailureModel, { holdout: null });
    const scores = Array.from(scorePairs(s, untrusted, pairs, {}));
    expect(scores.slice(0, 4)).toEqual([0, EVIDENCE_FLOOR / 30, EVIDENCE_FLOOR / 30, EVIDENCE_FLOOR / 10]);
    expect(scores[4]).toBeGreaterThan(EVIDENCE_FLOOR + 0.5);
  });

  it('saves and loads a version in the TF.js format with an active pointer', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'model-'));
    const v1 = await saveModelVersion(dir, trained.model);
    const v2 = await saveModelVersion(dir, trained.model, false);
    expect([v1, v2]).toEqual(['v0001', 'v0002']);
    expect(await activeVersion(dir)).toBe('v0001');
    const json = JSON.parse(await readFile(path.join(dir, v1, 'model.json'), 'utf8')) as {
      weightsManifest: unknown[];
    };
    expect(json.weightsManifest).toHaveLength(1);
    const loaded = await loadModelVersion(dir);
    const ex = {
      n: queries.length,
      dense: featureMatrix(trained.state, queries, {}),
      ...idColumns(queries, trained.model.config),
    };
    const a = trained.model.predict(ex);
    const b = loaded.predict(ex);
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
    // The linear part and what the ranking reads of the last fit come back too.
    expect(trained.model.wide.weights.some((w) => w !== 0)).toBe(true);
    expect(Array.from(loaded.wide.weights)).toEqual(Array.from(trained.model.wide.weights));
    expect(loaded.wide.bias).toBe(trained.model.wide.bias);
    expect(loaded.fitPositives).toBe(trained.model.fitPositives);
    expect(loaded.positiveWeight).toBe(trained.model.positiveWeight);
    expect(trained.model.holdout?.failures).toBeGreaterThan(0);
    expect(loaded.holdout).toEqual(trained.model.holdout);
    loaded.dispose();
  });
});
