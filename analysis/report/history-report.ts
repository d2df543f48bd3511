import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { initBackend } from '../backend.ts';
import type { HistoryRow } from '../history/row.ts';
import { trainOnHistory } from '../model/train-history.ts';
import type { ReportData, ReportEvaluation } from './build.ts';
import { writeReport } from './report.ts';

/** Cycles at the end of an evaluation whose rankings give the scores when there is no history. */
const LAST_RANKINGS = 20;

/**
 * The report of a history file and/or an evaluation directory (what `devlab analysis evaluate`
 * wrote): with a history, risk comes from a model trained on all of it (the function the harness
 * calls with the store's rows); with only an evaluation, from its last rankings.
 */
export async function writeHistoryReport(
  input: { rows?: readonly HistoryRow[]; evalDir?: string; title?: string },
  out: string,
): Promise<{ html: string; json: string; data: ReportData }> {
  const { rows, evalDir } = input;
  if (!rows && !evalDir) throw new Error('a report needs a history and/or an evaluation directory');
  let evaluation: ReportEvaluation | undefined;
  let scores: { test: string; device: string; score: number }[] | undefined;
  if (evalDir) {
    evaluation = JSON.parse(await readFile(path.join(evalDir, 'metrics.json'), 'utf8')) as ReportEvaluation;
    const lines = (await readFile(path.join(evalDir, 'rankings.jsonl'), 'utf8')).trim().split('\n');
    const latest = new Map<string, { test: string; device: string; score: number }>();
    for (const line of lines.slice(-LAST_RANKINGS)) {
      const r = JSON.parse(line) as { order: { test: string; device: string; score: number }[] };
      for (const o of r.order) latest.set(`${o.test}\u0000${o.device}`, o);
    }
    scores = [...latest.values()];
  }
  let model: Awaited<ReturnType<typeof trainOnHistory>>['model'] | null = null;
  if (rows) {
    await initBackend();
    model = (await trainOnHistory(rows, { train: { epochs: 3, batchSize: 512 } })).model;
  }
  try {
    return await writeReport(
      { rows, model, evaluation, scores, ...(input.title ? { title: input.title } : {}) },
      out,
    );
  } finally {
    model?.dispose();
  }
}
