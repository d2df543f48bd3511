import { pathToFileURL } from 'node:url';
import { compileTestQuery, type QueryableTest } from '../../suites/query/query.ts';
import type { BenchResult } from './bench-result.ts';

const ENTRIES = 100_000;
const QUERY =
  'tag:smoke and priority>=2 and (component:player or component:auth) and not requires.codecs:av1';
const COMPONENTS = ['player', 'auth', 'home', 'search', 'settings', 'platform'];
const TAGS = ['smoke', 'playback', 'regression', 'hdr', 'auth', 'slow', 'conformance'];
const CODECS = ['h264', 'hevc', 'av1', 'vp9'];

/** Deterministic synthetic catalog (mulberry32), so runs compare like for like. */
function syntheticCatalog(count: number): QueryableTest[] {
  let seed = 42;
  const next = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
  };
  return Array.from({ length: count }, (_, i) => ({
    id: `suite${next(50)}.test-${i}`,
    title: `Synthetic test ${i}`,
    tags: TAGS.filter(() => next(3) === 0),
    component: COMPONENTS[next(COMPONENTS.length)]!,
    owner: `team-${next(8)}`,
    priority: next(4),
    suite: `suite${next(50)}`,
    requires: { codecs: CODECS.filter(() => next(2) === 0) },
  }));
}

/** The same predicate as QUERY, written by hand: the floor a compiled query can approach. */
function handWritten(t: QueryableTest): boolean {
  return (
    t.tags.some((tag) => tag.toLowerCase() === 'smoke') &&
    t.priority >= 2 &&
    (t.component.toLowerCase() === 'player' || t.component.toLowerCase() === 'auth') &&
    !(t.requires.codecs ?? []).some((c) => c.toLowerCase() === 'av1')
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(fn: () => number, rounds: number): { ms: number; matched: number } {
  let matched = 0;
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    matched = fn();
    samples.push(performance.now() - start);
  }
  return { ms: median(samples), matched };
}

/** Parse + compile + filter of 100,000 catalog entries, against a hand-written filter of the same predicate. */
export async function benchQuery(): Promise<BenchResult[]> {
  const catalog = syntheticCatalog(ENTRIES);
  const rounds = 15;
  // Warm both paths so the JIT has compiled them before timing.
  time(() => catalog.filter(compileTestQuery(QUERY)).length, 3);
  time(() => catalog.filter(handWritten).length, 3);
  const query = time(() => catalog.filter(compileTestQuery(QUERY)).length, rounds);
  const raw = time(() => catalog.filter(handWritten).length, rounds);
  if (query.matched !== raw.matched) {
    throw new Error(`query matched ${query.matched} entries but the hand-written filter ${raw.matched}`);
  }
  const parseOnly = time(() => {
    for (let i = 0; i < 1000; i++) compileTestQuery(QUERY);
    return 0;
  }, rounds);
  return [
    {
      name: 'query: parse + filter 100k catalog entries',
      value: Number(query.ms.toFixed(2)),
      unit: 'ms',
      baseline: Number(raw.ms.toFixed(2)),
      goal: '< 100 ms',
    },
    {
      name: 'query: hand-written filter 100k entries (baseline)',
      value: Number(raw.ms.toFixed(2)),
      unit: 'ms',
    },
    {
      name: 'query: parse + compile one query', // 1000 compiles in `ms` milliseconds is `ms` microseconds per compile.
      value: Number(parseOnly.ms.toFixed(2)),
      unit: 'µs',
    },
    { name: 'query: entries matched', value: query.matched, unit: 'entries' },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await benchQuery()) console.log(JSON.stringify(r));
}
