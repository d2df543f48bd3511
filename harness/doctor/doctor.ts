import type { DevlabConfig } from '../config/config.ts';
import { type CheckOutcome, runCheck } from './check.ts';
import { allChecks } from './checks.ts';

export interface DoctorReport {
  outcomes: CheckOutcome[];
  /** False when any required part is missing. */
  healthy: boolean;
}

export async function runDoctor(config: DevlabConfig): Promise<DoctorReport> {
  const outcomes = await Promise.all(allChecks(config).map((check) => runCheck(check)));
  return { outcomes, healthy: outcomes.every((o) => o.ok || !o.required) };
}

/** One line per prerequisite, like appium-doctor: a mark, the name, what was found, and a fix when it failed. */
export function renderDoctor(report: DoctorReport, color: boolean): string {
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const width = Math.max(...report.outcomes.map((o) => o.name.length));
  const lines = report.outcomes.map((o) => {
    const mark = o.ok ? paint(32, '✔') : o.required ? paint(31, '✖') : paint(33, '!');
    const line = `${mark} ${o.name.padEnd(width)}  ${o.detail}`;
    return o.ok || !o.fix ? line : `${line}\n  ${' '.repeat(width)}  fix: ${o.fix}`;
  });
  const summary = report.healthy
    ? paint(32, 'All required parts are present.')
    : paint(31, `${report.outcomes.filter((o) => !o.ok && o.required).length} required part(s) missing.`);
  return `${lines.join('\n')}\n${summary}\n`;
}
