import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../analysis/backend.ts';
import { evaluateOnline } from '../../analysis/evaluation/online.ts';
import { writeEvaluation } from '../../analysis/evaluation/write.ts';
import { generateLabHistory } from '../../analysis/generator/lab.ts';

const options = { retrainEvery: 5, epochs: 2, seed: 4 };

describe('online evaluation', () => {
  const rows = generateLabHistory({ cycles: 30, seed: 9, devicesPerCycle: 2, testsPerDevice: 12 });
  const cut = rows.filter((r) => Number(r.cycle) <= 20);

  beforeAll(async () => {
    await initBackend();
  });

  it('never sees the future: scores of cycle c do not depend on later cycles', async () => {
    const full = await evaluateOnline(rows, options);
    const prefix = await evaluateOnline(cut, options);
    expect(prefix.cycles).toBe(20);
    expect(full.retrainings).toBeGreaterThan(0);
    expect(full.rankings.slice(0, 20)).toEqual(prefix.rankings);
  });

  it('also when the later cycles are rewritten (every later verdict flipped)', async () => {
    const flipped = rows.map((r) =>
      Number(r.cycle) > 20
        ? { ...r, verdict: r.verdict === 'pass' ? ('fail' as const) : ('pass' as const) }
        : r,
    );
    const a = await evaluateOnline(rows, options);
    const b = await evaluateOnline(flipped, options);
    expect(b.rankings.slice(0, 21)).toEqual(a.rankings.slice(0, 21));
    expect(b.rankings.slice(21)).not.toEqual(a.rankings.slice(21));
  });

  it('writes rankings.jsonl and metrics.json with all strategies; optimal is an upper bound', async () => {
    const result = await evaluateOnline(cut, options);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'eval-'));
    await writeEvaluation(dir, result);
    const lines = (await readFile(path.join(dir, 'rankings.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(20);
    const first = JSON.parse(lines[0]!) as {
      cycle: number;
      order: { test: string; device: string; score: number }[];
    };
    expect(first.cycle).toBe(1);
    expect(first.order[0]).toHaveProperty('score');
    const metrics = JSON.parse(await readFile(path.join(dir, 'metrics.json'), 'utf8')) as {
      summary: Record<string, { apfd: number }>;
    };
    expect(Object.keys(metrics.summary).sort()).toEqual([
      'heuristic',
      'historyModel',
      'logistic',
      'model',
      'optimal',
      'random',
    ]);
    for (const s of ['model', 'heuristic', 'logistic', 'random'])
      expect(metrics.summary[s]!.apfd).toBeLessThanOrEqual(metrics.summary['optimal']!.apfd + 1e-9);
    // Which cycles the model ranked: never the first (nothing trained yet); the totals match the cycles.
    expect(result.perCycle[0]!.modelTrusted).toBe(false);
    expect(result.trustedCycles).toBe(result.perCycle.filter((c) => c.modelTrusted).length);
    expect(result.trustedFailingCycles).toBe(
      result.perCycle.filter((c) => c.modelTrusted && c.failing > 0).length,
    );
    expect(metrics).toMatchObject({
      trustedCycles: result.trustedCycles,
      trustedFailingCycles: result.trustedFailingCycles,
    });
  });
});
