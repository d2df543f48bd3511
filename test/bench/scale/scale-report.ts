import type { BenchResult } from '../bench-result.ts';
import type { SizeResult } from './measure-size.ts';
import { quantile, type Series } from './timed-series.ts';

/** The size the issue's goals are stated for. */
const GOAL_SIZE = 1_000_000;

export function sizeLabel(size: number): string {
  if (size >= 1_000_000) return `${size / 1_000_000}M`;
  if (size >= 1000) return `${size / 1000}k`;
  return String(size);
}

const p = (s: Series, q: number): number => quantile(s.ms, q);

/** A cell: the value, `≥` when a request hit the cap, `n/a` for no sample (and the errors' first words). */
function cell(s: Series, q: number): string {
  if (s.ms.length === 0) return s.errors.length ? `error (${s.errors[0]!.slice(0, 40)})` : 'n/a';
  const v = p(s, q);
  return `${s.timedOut && v === Math.max(...s.ms) ? '≥ ' : ''}${fmtMs(v)}${s.ms.length < 5 ? ` (n=${s.ms.length})` : ''}`;
}

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** Bench rows of one size; goals only at 1M finished jobs, the issue's target. */
export function sizeRows(r: SizeResult, smokeBaseline: number | undefined): BenchResult[] {
  const at = `scale ${sizeLabel(r.size)}:`;
  const goal = (g: string) => (r.size === GOAL_SIZE ? { goal: g } : {});
  const pair = (name: string, s: Series, g?: string): BenchResult[] => [
    { name: `${at} ${name} p50${s.timedOut ? ' (timed out)' : ''}`, value: p(s, 0.5), unit: 'ms' },
    { name: `${at} ${name} p95 (n=${s.ms.length})`, value: p(s, 0.95), unit: 'ms', ...(g ? goal(g) : {}) },
  ];
  return [
    { name: `${at} start-up to ready`, value: r.startupMs, unit: 'ms', ...goal('< 15000 ms') },
    {
      name: `${at} start-up again after a graceful stop (snapshot)`,
      value: r.restartMs,
      unit: 'ms',
      ...goal('< 15000 ms'),
    },
    { name: `${at} first preview after start`, value: r.firstPreviewMs, unit: 'ms' },
    ...pair('preview 500×5 (2,500 pairs)', r.pairs2500),
    ...pair('preview 500×20 (10,000 pairs)', r.pairs10000),
    ...pair('preview 500×40', r.preview, '< 500 ms'),
    ...pair('submit 500×40', r.submit, '< 500 ms'),
    ...pair('tag:smoke preview', r.smoke),
    {
      name: `${at} tag:smoke preview p50 vs the smallest size`,
      value: p(r.smoke, 0.5),
      unit: 'ms',
      ...(smokeBaseline === undefined ? {} : { baseline: smokeBaseline }),
      goal: 'does not grow with history',
    },
    ...pair('failrate > 0.1 preview', r.failrate),
    {
      name: `${at} longest event-loop stall in a submit`,
      value: r.submitStallMs,
      unit: 'ms',
      ...goal('< 100 ms'),
    },
    {
      name: `${at} longest event-loop stall while training`,
      value: r.trainStallMs,
      unit: 'ms',
      ...goal('< 100 ms'),
    },
    { name: `${at} training (schedule to idle)`, value: r.trainMs, unit: 'ms' },
    ...pair('preview during training', r.previewDuringTraining),
    { name: `${at} RSS after all`, value: r.rssMb, unit: 'MB', ...goal('< 1024 MB') },
    { name: `${at} peak RSS`, value: r.peakRssMb, unit: 'MB', ...goal('< 1024 MB') },
  ];
}

/** Sizes × metrics, to paste into docs/BENCHMARKS.md. */
export function markdownTable(results: readonly SizeResult[]): string {
  const head = [
    'finished jobs',
    'start-up (replay / snapshot)',
    'first preview',
    'preview p50 / p95',
    'submit p50 / p95',
    '`tag:smoke` p50 / p95',
    '`failrate > 0.1` p50 / p95',
    'stall: submit',
    'stall: training',
    'training',
    'preview while training p50 / p95',
    'RSS after / peak',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of results) {
    const both = (s: Series) => `${cell(s, 0.5)} / ${cell(s, 0.95)}`;
    const row = [
      r.size.toLocaleString('en'),
      `${fmtMs(r.startupMs)} / ${fmtMs(r.restartMs)}`,
      fmtMs(r.firstPreviewMs),
      both(r.preview),
      both(r.submit),
      both(r.smoke),
      both(r.failrate),
      fmtMs(r.submitStallMs),
      fmtMs(r.trainStallMs),
      `${fmtMs(r.trainMs)}${r.trainError ? ` (failed: ${r.trainError.slice(0, 40)})` : ''}`,
      both(r.previewDuringTraining),
      `${Math.round(r.rssMb)} / ${Math.round(r.peakRssMb)} MB`,
    ];
    lines.push(`| ${row.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
