import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupCycles } from '../../analysis/history/cycles.ts';
import { historyToCsv, parseHistoryCsv } from '../../analysis/history/csv.ts';
import { readJunitDir } from '../../analysis/history/junit.ts';
import { HistoryImportError, isFailure, isOutcome } from '../../analysis/history/row.ts';
import { summarizeHistory } from '../../analysis/history/summary.ts';

const HEADER = 'cycle,test,device,verdict,duration_s';

describe('history CSV import', () => {
  it('parses rows and optional columns', () => {
    const rows = parseHistoryCsv(
      `${HEADER},firmware,changed\n1,a,d1,pass,1.5,6.1,player;ui\n1,b,d1,fail,2,6.1,\n`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      cycle: '1',
      test: 'a',
      verdict: 'pass',
      durationS: 1.5,
      firmware: '6.1',
      changed: ['player', 'ui'],
    });
    expect(rows[1]!.changed).toBeUndefined();
  });

  it('names the line of a bad verdict', () => {
    expect(() => parseHistoryCsv(`${HEADER}\n1,a,d,pass,1\n2,a,d,maybe,1\n`, 'h.csv')).toThrow(
      /h\.csv:3: verdict "maybe"/,
    );
  });

  it('names the line of a bad duration and a wrong field count', () => {
    expect(() => parseHistoryCsv(`${HEADER}\n1,a,d,pass,-4\n`, 'h.csv')).toThrow(/h\.csv:2: duration_s "-4"/);
    expect(() => parseHistoryCsv(`${HEADER}\n\n1,a,d,pass\n`, 'h.csv')).toThrow(
      /h\.csv:3: expected 5 fields, found 4/,
    );
  });

  it('rejects a header without required columns', () => {
    const err = (() => {
      try {
        parseHistoryCsv('cycle,test,verdict,duration_s\n', 'x.csv');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HistoryImportError);
    expect((err as Error).message).toMatch(/x\.csv:1: missing column "device"/);
  });

  it('round-trips through historyToCsv, quoting commas', () => {
    const rows = parseHistoryCsv(`${HEADER}\n1,"a,b",d,fail,3\n`);
    expect(rows[0]!.test).toBe('a,b');
    expect(parseHistoryCsv(historyToCsv(rows))).toEqual(rows);
  });

  it('groups cycles numerically and collapses repeated executions (any failure fails)', () => {
    const rows = parseHistoryCsv(`${HEADER}\n10,a,d,pass,1\n2,a,d,pass,1\n10,a,d,fail,2\n`);
    const cycles = groupCycles(rows);
    expect(cycles.map((c) => c.id)).toEqual(['2', '10']);
    expect(cycles[1]!.pairs).toHaveLength(1);
    expect(cycles[1]!.pairs[0]).toMatchObject({ failed: true, mixed: true, durationS: 3 });
  });

  it('leaves infrastructure errors out of cycles: neither a failure nor a run of the pair', () => {
    const rows = parseHistoryCsv(
      `${HEADER}\n1,a,d,error,1\n1,b,d,error,1\n1,b,d,pass,2\n2,a,d,fail,1\n2,a,d,error,1\n`,
    );
    const [first, second] = groupCycles(rows);
    expect(first!.pairs).toEqual([
      expect.objectContaining({ test: 'b', failed: false, mixed: false, durationS: 2 }),
    ]);
    expect(second!.pairs).toEqual([
      expect.objectContaining({ test: 'a', failed: true, mixed: false, durationS: 1 }),
    ]);
    expect(summarizeHistory(rows)).toMatchObject({ failingCycles: 1, failures: 1, verdicts: { error: 3 } });
  });
});

describe('JUnit import', () => {
  it('reads one cycle per file ordered by timestamp', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'junit-'));
    const suite = (ts: string, verdict: string) =>
      `<?xml version="1.0"?><testsuites><testsuite name="s" timestamp="${ts}" hostname="tv-1">` +
      `<testcase classname="Play" name="hevc" time="1.5">${verdict}</testcase><testcase classname="Play" name="h264" time="2"/>` +
      '</testsuite></testsuites>';
    await writeFile(path.join(dir, 'a.xml'), suite('2026-02-02T00:00:00Z', '<failure message="x"/>'));
    await writeFile(path.join(dir, 'b.xml'), suite('2026-01-01T00:00:00Z', ''));
    const rows = await readJunitDir(dir);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ cycle: '1', test: 'Play.hevc', device: 'tv-1', verdict: 'pass' });
    expect(rows.find((r) => r.cycle === '2' && r.test === 'Play.hevc')!.verdict).toBe('fail');
  });

  it('reads a JUnit <error> as a failure of the test, unless devlab typed it infrastructure', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'junit-'));
    await writeFile(
      path.join(dir, 'a.xml'),
      '<testsuite name="s" hostname="tv-1">' +
        '<testcase name="npe" time="1"><error message="NullPointerException" type="java.lang.NullPointerException"/></testcase>' +
        '<testcase name="bare" time="1"><error/></testcase>' +
        '<testcase name="lost" time="1"><error message="device lost" type="infrastructure">device lost</error></testcase>' +
        '</testsuite>',
    );
    const rows = await readJunitDir(dir);
    expect(Object.fromEntries(rows.map((r) => [r.test, r.verdict]))).toEqual({
      npe: 'fail',
      bare: 'fail',
      lost: 'error',
    });
    expect(rows.map((r) => isFailure(r.verdict))).toEqual([true, true, false]);
    expect(rows.map((r) => isOutcome(r.verdict))).toEqual([true, true, false]);
  });

  it('reports the line of malformed XML', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'junit-'));
    await writeFile(path.join(dir, 'bad.xml'), '<testsuite>\n<testcase name="a">\n</testsuite>\n');
    await expect(readJunitDir(dir)).rejects.toThrow(/bad\.xml:\d+:\d+: invalid XML/);
  });
});
