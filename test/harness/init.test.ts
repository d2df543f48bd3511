import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../devices/inventory/load.ts';
import { programFor } from '../../harness/cli/main.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { type CliOutput, captureCli } from '../support/cli-capture.ts';

const root = mkdtempSync(path.join(tmpdir(), 'devlab-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function devlab(args: string[]): Promise<CliOutput> {
  const argv = ['node', 'devlab', ...args];
  return captureCli(async () => (await programFor(argv)).exitOverride().parseAsync(argv));
}

const FILES = ['devlab.config.yaml', 'devlab/inventory.yaml', 'devlab/tests/example.test-def.ts'];

describe('devlab init', () => {
  it('scaffolds a config, an inventory with one Chromium browser device and one test, all valid', async () => {
    const dir = path.join(root, 'fresh');
    const { stdout, exitCode } = await devlab(['init', '--dir', dir, '--host', 'ci-box']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain(FILES.map((f) => `created ${f}`).join('\n'));
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.suites).toEqual([path.join(dir, 'devlab/tests')]);
    expect(config.inventory).toBe(path.join(dir, 'devlab/inventory.yaml'));
    expect(config.home).toBe(path.join(dir, '.devlab'));
    const devices = loadInventory(config.inventory!);
    expect(devices.map((d) => [d.id, d.driver, d.host, d.settings['executablePath']])).toEqual([
      ['web-chromium', 'browser', 'ci-box', '/usr/bin/chromium'],
    ]);
    const test = readFileSync(path.join(dir, 'devlab/tests/example.test-def.ts'), 'utf8');
    expect(test).toContain("import { defineTest, expect } from 'devlab';");
  });

  it('overwrites nothing: an existing file is kept, named, and the command exits 2', async () => {
    const dir = path.join(root, 'existing');
    await devlab(['init', '--dir', dir]);
    writeFileSync(path.join(dir, 'devlab.config.yaml'), 'suites: [mine]\n');
    const { stdout, stderr, exitCode } = await devlab(['init', '--dir', dir]);
    expect(exitCode).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`left as they are (they exist already): ${FILES.join(', ')}`);
    expect(readFileSync(path.join(dir, 'devlab.config.yaml'), 'utf8')).toBe('suites: [mine]\n');
  });
});
