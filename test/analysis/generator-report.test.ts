import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateLabHistory } from '../../analysis/generator/lab.ts';
import { historyToCsv, parseHistoryCsv } from '../../analysis/history/csv.ts';
import { summarizeHistory } from '../../analysis/history/summary.ts';
import { writeReport } from '../../analysis/report/report.ts';

describe('lab history generator', () => {
  it('is deterministic by seed and varies with it', () => {
    const a = generateLabHistory({ cycles: 25, seed: 5 });
    const b = generateLabHistory({ cycles: 25, seed: 5 });
    const c = generateLabHistory({ cycles: 25, seed: 6 });
    expect(historyToCsv(a)).toBe(historyToCsv(b));
    expect(historyToCsv(a)).not.toBe(historyToCsv(c));
  });

  it('produces a valid CSV history with models, firmware, failures and growth', () => {
    const rows = generateLabHistory({ cycles: 200, seed: 2 });
    const back = parseHistoryCsv(historyToCsv(rows));
    expect(back).toHaveLength(rows.length);
    const s = summarizeHistory(back);
    expect(s.cycles).toBe(200);
    expect(s.deviceModels).toBeGreaterThan(4);
    expect(s.failures).toBeGreaterThan(50);
    expect(new Set(rows.map((r) => r.firmware)).size).toBeGreaterThan(8);
    const firstTests = new Set(rows.filter((r) => r.cycle === '1').map((r) => r.test));
    expect(rows.some((r) => !firstTests.has(r.test))).toBe(true);
  });
});

describe('report', () => {
  it('writes a self-contained HTML file with SVG charts and a JSON file beside it', async () => {
    const rows = generateLabHistory({ cycles: 40, seed: 3 });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'report-'));
    const evaluation = {
      summary: { model: { apfd: 0.8 }, random: { apfd: 0.5 } },
      perCycle: [
        { cycle: '1', failing: 1, metrics: { model: { apfd: 0.9 }, random: { apfd: 0.4 } } },
        { cycle: '2', failing: 2, metrics: { model: { apfd: 0.7 }, random: { apfd: 0.6 } } },
      ],
      calibration: [
        { from: 0, to: 0.1, count: 90, meanPredicted: 0.05, observedRate: 0.04 },
        { from: 0.5, to: 0.6, count: 10, meanPredicted: 0.55, observedRate: 0.5 },
      ],
    };
    const out = await writeReport({ rows, evaluation }, path.join(dir, 'r.html'));
    const html = await readFile(out.html, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?https?:/i);
    expect(html).toContain('Flaky tests');
    // No model given: the report says its scores are the failure record, not a model's probabilities.
    expect(html).toMatch(/pairs scored by failure record, then novelty\./);
    const data = JSON.parse(await readFile(out.json, 'utf8')) as { risk: unknown[]; rankedBy: string };
    expect(data.risk.length).toBeGreaterThan(10);
    expect(data.rankedBy).toBe('failure record, then novelty');
  });
});
