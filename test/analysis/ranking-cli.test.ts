import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { HistoryState } from '../../analysis/features/state.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import { parseHistoryCsv } from '../../analysis/history/csv.ts';
import { rankPairs } from '../../analysis/ranking/rank.ts';
import { registerAnalysisCommands } from '../../harness/cli/commands/analysis.ts';

describe('ranking API without a trained model (cold start)', () => {
  it('ranks recent failures first and explains novelty and changes', () => {
    const rows = parseHistoryCsv(
      'cycle,test,device,verdict,duration_s,device_model,firmware,component\n' +
        '1,play,tv-1,fail,5,tv-s9,6.0,player\n1,menu,tv-1,pass,5,tv-s9,6.0,ui\n' +
        '2,play,tv-1,fail,5,tv-s9,6.1,player\n2,menu,tv-1,pass,5,tv-s9,6.1,ui\n',
    );
    const state = new HistoryState();
    for (const c of groupCycles(rows)) state.update(c);
    const ranked = rankPairs(
      state,
      null,
      [
        { test: 'menu', device: 'tv-1', deviceModel: 'tv-s9', firmware: '6.1' },
        { test: 'brand-new', device: 'tv-1', deviceModel: 'tv-s9', firmware: '6.1' },
        { test: 'play', device: 'tv-1', deviceModel: 'tv-s9', firmware: '6.1' },
      ],
      { changed: ['ui'] },
    );
    expect(ranked[0]!.test).toBe('play');
    expect(ranked[0]!.reasons).toContain('failed 1 of the last 1 runs on firmware 6.1 (tv-s9)');
    expect(ranked[0]!.probability).toBeGreaterThan(ranked[1]!.probability);
    expect(ranked.find((r) => r.test === 'brand-new')!.reasons).toContain('new test');
    expect(ranked.find((r) => r.test === 'menu')!.reasons).toContain('component ui changed');
  });
});

describe('devlab analysis CLI', () => {
  it('generates, imports, evaluates and reports', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const run = async (...args: string[]) => {
        const program = new Command().exitOverride();
        registerAnalysisCommands(program);
        await program.parseAsync(['node', 'devlab', 'analysis', ...args]);
      };
      const csv = path.join(dir, 'lab.csv');
      await run('generate', '--out', csv, '--cycles', '15', '--seed', '2');
      await run('import', '--history', csv, '--json');
      const summary = JSON.parse(String(out.mock.calls.at(-1)?.[0])) as { cycles: number };
      expect(summary.cycles).toBe(15);
      await run('evaluate', '--history', csv, '--out', path.join(dir, 'eval'), '--retrain-every', '5');
      expect(existsSync(path.join(dir, 'eval', 'rankings.jsonl'))).toBe(true);
      await run(
        'report',
        '--history',
        csv,
        '--eval',
        path.join(dir, 'eval'),
        '--out',
        path.join(dir, 'r.html'),
      );
      expect(await readFile(path.join(dir, 'r.html'), 'utf8')).toContain('<svg');
      expect(existsSync(path.join(dir, 'r.json'))).toBe(true);
    } finally {
      out.mockRestore();
    }
    await expect(
      (async () => {
        const program = new Command().exitOverride();
        registerAnalysisCommands(program);
        await program.parseAsync([
          'node',
          'devlab',
          'analysis',
          'import',
          '--history',
          path.join(dir, 'missing.csv'),
        ]);
      })(),
    ).rejects.toThrow(/missing\.csv: cannot read/);
  });
});
