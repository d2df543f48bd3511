import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../analysis/backend.ts';
import { HistoryState } from '../../analysis/features/state.ts';
import { evaluateOnline } from '../../analysis/evaluation/online.ts';
import { generateLabHistory } from '../../analysis/generator/lab.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import type { HistoryRow } from '../../analysis/history/row.ts';
import { seededRandom } from '../../analysis/model/hash.ts';
import { rankPairs } from '../../analysis/ranking/rank.ts';

/** The rows of each cycle in a seeded random order; the cycles stay where they were. */
function shuffleWithinCycles(rows: readonly HistoryRow[], seed: number): HistoryRow[] {
  const rnd = seededRandom(seed);
  const byCycle = new Map<string, HistoryRow[]>();
  for (const r of rows) byCycle.set(r.cycle, [...(byCycle.get(r.cycle) ?? []), r]);
  return [...byCycle.values()].flatMap((list) => {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  });
}

describe('order independence: nothing depends on the order rows are listed in', () => {
  const rows = generateLabHistory({ cycles: 40, seed: 5, devicesPerCycle: 3, testsPerDevice: 12 });
  const shuffled = shuffleWithinCycles(rows, 77);

  beforeAll(async () => {
    await initBackend();
  });

  it('the history is shuffled (else this test could not fail)', () => {
    expect(shuffled).not.toEqual(rows);
    expect(new Set(shuffled)).toEqual(new Set(rows));
  });

  it('groups the same cycles and pairs', () => {
    expect(groupCycles(shuffled)).toEqual(groupCycles(rows));
  });

  it('ranks ties by a seeded hash of (cycle, test, device), not by the order the pairs come in', () => {
    const state = new HistoryState();
    // Nothing ran yet: every pair ties (new test, new pair), so the order is the tie-break alone.
    const pairs = groupCycles(rows)[0]!.pairs.map((p) => ({ test: p.test, device: p.device }));
    const forward = rankPairs(state, null, pairs).map((r) => `${r.test}@${r.device}`);
    const backward = rankPairs(state, null, [...pairs].reverse()).map((r) => `${r.test}@${r.device}`);
    expect(backward).toEqual(forward);
    // The tie-break is not the listed (canonical) order either, and the seed changes it.
    expect(forward).not.toEqual(pairs.map((p) => `${p.test}@${p.device}`));
    const reseeded = rankPairs(state, null, pairs, {}, { seed: 2 }).map((r) => `${r.test}@${r.device}`);
    expect(reseeded).not.toEqual(forward);
  });

  it('evaluates a history with rows shuffled within each cycle to the same metrics, training included', async () => {
    const options = { retrainEvery: 5, epochs: 2, seed: 3 };
    const a = await evaluateOnline(rows, options);
    const b = await evaluateOnline(shuffled, options);
    expect(a.failingCycles).toBeGreaterThan(5);
    expect(a.retrainings).toBeGreaterThan(0);
    // Exactly equal, also the network's and the logistic regression's (tolerance 0): the examples reach
    // training in one canonical order and every random draw is seeded, so there is no noise to allow for.
    expect(b.summary).toEqual(a.summary);
    expect(b.perCycle).toEqual(a.perCycle);
    expect(b.rankings).toEqual(a.rankings);
  }, 120_000);
});
