/** A job as the results endpoint shows it, as far as the matrix reads it. */
export interface MatrixJob {
  testId: string;
  pool: string;
  deviceId: string | null;
  verdict: string | null;
  state: string;
}

const MARKS: Record<string, [string, number]> = {
  passed: ['✔', 32],
  flaky: ['~', 33],
  failed: ['✖', 31],
  'timed-out': ['T', 31],
  error: ['E', 35],
  skipped: ['-', 90],
  cancelled: ['C', 90],
  running: ['…', 36],
  queued: ['·', 90],
};

/** Test × device matrix for the terminal: one row per test, one column per device pool. */
export function resultsMatrix(jobs: readonly MatrixJob[], color: boolean): string {
  const columns = [...new Set(jobs.map((j) => j.pool))];
  const label = (pool: string) => {
    const device = jobs.find((j) => j.pool === pool && j.deviceId)?.deviceId;
    return device ?? pool.replace(/^[a-z]+:/, '').replace(/#.*$/, '');
  };
  const headers = columns.map(label);
  const tests = [...new Set(jobs.map((j) => j.testId))];
  const width = Math.max(4, ...tests.map((t) => t.length));
  const cell = (pool: string, test: string, w: number) => {
    const job = jobs.find((j) => j.pool === pool && j.testId === test);
    if (!job) return ' '.repeat(w);
    const [mark, code] = MARKS[job.verdict ?? job.state] ?? ['?', 0];
    const padded = mark.padEnd(w);
    return color ? `\u001b[${code}m${padded}\u001b[0m` : padded;
  };
  const widths = headers.map((h) => Math.max(2, h.length));
  const lines = [
    `${'test'.padEnd(width)}  ${headers.map((h, i) => h.padEnd(widths[i]!)).join('  ')}`,
    ...tests.map((t) => `${t.padEnd(width)}  ${columns.map((p, i) => cell(p, t, widths[i]!)).join('  ')}`),
    '',
    'legend: ✔ passed  ~ flaky  ✖ failed  T timed-out  E infrastructure error  - skipped  C cancelled  · queued',
  ];
  return `${lines.join('\n')}\n`;
}
