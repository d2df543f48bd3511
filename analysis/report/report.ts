import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildReportData, type ReportData, type ReportInput } from './build.ts';
import { renderReportHtml } from './html.ts';

/**
 * Writes the report: `file` (self-contained HTML) and the same data as JSON beside it
 * (`file` with `.json`). Takes rows and a model, so the harness can call it with the store's history.
 */
export async function writeReport(
  input: ReportInput,
  file: string,
): Promise<{ html: string; json: string; data: ReportData }> {
  const data = buildReportData(input);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const json = file.replace(/\.html?$/i, '') + '.json';
  await writeFile(file, renderReportHtml(data));
  await writeFile(json, `${JSON.stringify(data, null, 2)}\n`);
  return { html: file, json, data };
}
