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

describe('the dependency direction (docs/ARCHITECTURE.md)', () => {
  it('reads the imports it checks', () => {
    expect(importsOf('suites').some((i) => i.target === 'devices/device.ts')).toBe(true);
    expect(importsOf('harness').some((i) => i.target.startsWith('devices/'))).toBe(true);
  });
  it('devices/ imports nothing of ours', () => {
    expect(violations('devices', () => false)).toEqual([]);
  });
  it('suites/ uses only the device record, capability schema and YAML reader from devices/', () => {
    const shared = ['devices/device.ts', 'devices/capabilities.ts', 'devices/yaml-value.ts'];
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
