import { readFile } from 'node:fs/promises';
import { HistoryImportError, type HistoryRow, historyRowSchema, VERDICTS } from './row.ts';

/** Columns every history CSV has; the optional ones below may follow in any order. */
export const REQUIRED_COLUMNS = ['cycle', 'test', 'device', 'verdict', 'duration_s'] as const;
export const OPTIONAL_COLUMNS = [
  'time',
  'device_model',
  'os',
  'firmware',
  'build',
  'signature',
  'component',
  'changed',
  'base_build',
] as const;

/** Splits one CSV record (RFC 4180 quoting) into fields; returns null on an unterminated quote. */
function splitRecord(line: string): string[] | null {
  const out: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < line.length) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
    i++;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

function quote(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Parses a history CSV (`cycle,test,device,verdict,duration_s[,optional...]`).
 * Errors name the source and the 1-based line number.
 */
export function parseHistoryCsv(text: string, source = 'history.csv'): HistoryRow[] {
  const lines = text.split(/\r?\n/);
  const header = splitRecord((lines[0] ?? '').replace(/^\uFEFF/, '').trim());
  if (!header || header.length === 0 || header[0] === '')
    throw new HistoryImportError(`${source}:1`, 'empty file: expected a header line');
  const names = header.map((h) => h.trim().toLowerCase());
  for (const col of REQUIRED_COLUMNS)
    if (!names.includes(col))
      throw new HistoryImportError(
        `${source}:1`,
        `missing column "${col}" (header must contain ${REQUIRED_COLUMNS.join(',')})`,
      );
  const known = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);
  for (const n of names)
    if (!known.has(n)) throw new HistoryImportError(`${source}:1`, `unknown column "${n}"`);
  const idx = (name: string): number => names.indexOf(name);
  const rows: HistoryRow[] = [];
  for (let ln = 1; ln < lines.length; ln++) {
    const raw = lines[ln]!;
    if (raw.trim() === '') continue;
    const where = `${source}:${ln + 1}`;
    const fields = splitRecord(raw);
    if (!fields) throw new HistoryImportError(where, 'unterminated quoted field');
    if (fields.length !== names.length)
      throw new HistoryImportError(where, `expected ${names.length} fields, found ${fields.length}`);
    const get = (name: string): string | undefined => {
      const i = idx(name);
      if (i < 0) return undefined;
      const v = fields[i]!.trim();
      return v === '' ? undefined : v;
    };
    const durText = get('duration_s');
    const duration = durText === undefined ? Number.NaN : Number(durText);
    if (!Number.isFinite(duration) || duration < 0)
      throw new HistoryImportError(where, `duration_s "${durText ?? ''}" is not a non-negative number`);
    const verdict = get('verdict')?.toLowerCase();
    if (!verdict || !(VERDICTS as readonly string[]).includes(verdict))
      throw new HistoryImportError(where, `verdict "${verdict ?? ''}" is not one of ${VERDICTS.join('|')}`);
    const changed = get('changed');
    const candidate = {
      cycle: get('cycle'),
      time: get('time'),
      test: get('test'),
      device: get('device'),
      deviceModel: get('device_model'),
      os: get('os'),
      firmware: get('firmware'),
      build: get('build'),
      verdict,
      durationS: duration,
      signature: get('signature'),
      component: get('component'),
      changed: changed ? changed.split(';').filter((c) => c !== '') : undefined,
      baseBuild: get('base_build'),
    };
    const parsed = historyRowSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || 'row';
      throw new HistoryImportError(where, `${field}: ${issue.message}`);
    }
    rows.push(parsed.data);
  }
  return rows;
}

export async function readHistoryCsv(file: string): Promise<HistoryRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HistoryImportError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseHistoryCsv(text, file);
}

/** Writes rows as a history CSV with every column the rows use. */
export function historyToCsv(rows: readonly HistoryRow[]): string {
  const optional = OPTIONAL_COLUMNS.filter((c) =>
    rows.some((r) => {
      const v = columnValue(r, c);
      return v !== undefined && v !== '';
    }),
  );
  const cols = [...REQUIRED_COLUMNS, ...optional];
  const out = [cols.join(',')];
  for (const r of rows) out.push(cols.map((c) => quote(columnValue(r, c) ?? '')).join(','));
  return `${out.join('\n')}\n`;
}

/** Every column, in the order a streamed history CSV has them (a stream cannot know which ones its rows use). */
export const ALL_COLUMNS = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS] as const;

/** The header line of a streamed history CSV (`ALL_COLUMNS`), with its newline. */
export function historyCsvHeader(): string {
  return `${ALL_COLUMNS.join(',')}\n`;
}

/** One row as a record of a streamed history CSV (`ALL_COLUMNS`, empty where the row has no value), with its newline. */
export function historyCsvRecord(r: HistoryRow): string {
  return `${ALL_COLUMNS.map((c) => quote(columnValue(r, c) ?? '')).join(',')}\n`;
}

function columnValue(r: HistoryRow, col: string): string | undefined {
  switch (col) {
    case 'cycle':
      return r.cycle;
    case 'test':
      return r.test;
    case 'device':
      return r.device;
    case 'verdict':
      return r.verdict;
    case 'duration_s':
      return String(r.durationS);
    case 'time':
      return r.time;
    case 'device_model':
      return r.deviceModel;
    case 'os':
      return r.os;
    case 'firmware':
      return r.firmware;
    case 'build':
      return r.build;
    case 'signature':
      return r.signature;
    case 'component':
      return r.component;
    case 'changed':
      return r.changed?.join(';');
    case 'base_build':
      return r.baseBuild;
    default:
      return undefined;
  }
}
