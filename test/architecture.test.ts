import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../harness/config/project-root.ts';

/** Every TypeScript file under a top-level folder, with the project-relative targets of its imports. */
function importsOf(folder: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'public') continue;
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) {
        const text = readFileSync(full, 'utf8');
        for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
          const target = path.relative(PROJECT_ROOT, path.resolve(path.dirname(full), m[1]!));
          out.push({ file: path.relative(PROJECT_ROOT, full), target });
        }
      }
    }
  };
  walk(path.join(PROJECT_ROOT, folder));
  return out;
}

const violations = (folder: string, allowed: (target: string) => boolean) =>
  importsOf(folder)
    .filter(({ target }) => !target.startsWith(`${folder}/`) && !allowed(target))
    .map(({ file, target }) => `${file} → ${target}`);

/** The strongly connected groups of more than one node (import circles), each sorted (Tarjan). */
function circles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      group.push(w);
    } while (w !== v);
    if (group.length > 1) out.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Which harness/ folder imports which other harness/ folder (files directly in harness/ left out). */
function harnessFolderGraph(): Map<string, Set<string>> {
  const folder = (file: string) => {
    const parts = file.split('/');
    return parts[0] === 'harness' && parts.length > 2 ? parts[1]! : null;
  };
  const graph = new Map<string, Set<string>>();
  for (const { file, target } of importsOf('harness')) {
    const [from, to] = [folder(file), folder(target)];
    if (!from || !to || from === to) continue;
    graph.set(from, (graph.get(from) ?? new Set()).add(to));
  }
  return graph;
}

describe('the dependency direction (docs/ARCHITECTURE.md)', () => {
  it('reads the imports it checks', () => {
    expect(importsOf('suites').some((i) => i.target === 'devices/device.ts')).toBe(true);
    expect(importsOf('harness').some((i) => i.target.startsWith('devices/'))).toBe(true);
  });
  it('devices/ imports nothing of ours', () => {
    expect(violations('devices', () => false)).toEqual([]);
  });
  it('suites/ uses only the device record, capability schema, YAML reader and did-you-mean from devices/', () => {
    const shared = [
      'devices/device.ts',
      'devices/capabilities.ts',
      'devices/yaml-value.ts',
      'devices/did-you-mean.ts',
    ];
    expect(violations('suites', (t) => shared.includes(t))).toEqual([]);
  });
  it('analysis/ knows no driver and no harness', () => {
    expect(
      violations(
        'analysis',
        (t) => t.startsWith('suites/') || t === 'devices/device.ts' || t === 'devices/capabilities.ts',
      ),
    ).toEqual([]);
  });
});

describe('inside harness/ (docs/ARCHITECTURE.md)', () => {
  it('finds import circles between folders', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(circles(graph)).toEqual([['a', 'b', 'c']]);
    expect(harnessFolderGraph().get('agent')?.has('queue')).toBe(true);
  });
  it('no import circle between harness/ folders', () => {
    expect(circles(harnessFolderGraph())).toEqual([]);
  });
  it('no import circle between the files of a folder either (types included)', () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, target } of importsOf('harness')) {
      if (!target.startsWith('harness/')) continue;
      graph.set(file, (graph.get(file) ?? new Set()).add(target));
    }
    expect(graph.size).toBeGreaterThan(100);
    expect(circles(graph)).toEqual([]);
  });
  it('harness/lab/ (the composition roots) is imported by the CLI only', () => {
    const intoLab = importsOf('harness').filter(
      ({ file, target }) =>
        target.startsWith('harness/lab/') &&
        !file.startsWith('harness/lab/') &&
        !file.startsWith('harness/cli/'),
    );
    expect(intoLab.map(({ file, target }) => `${file} → ${target}`)).toEqual([]);
  });
});
