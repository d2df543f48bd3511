import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/config/config-error.ts';
import { loadConfig } from '../../harness/config/config.ts';

const root = mkdtempSync(path.join(tmpdir(), 'devlab-config-suites-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A partner repo: suite folders (one of them a symlink to a folder outside it) and a config file. */
function repo(name: string, config: string): { dir: string; file: string } {
  const dir = path.join(root, name);
  for (const sub of [
    'tests/ui',
    'tests/api',
    'packages/a/devlab-tests',
    'packages/b/devlab-tests',
    'devlab',
  ]) {
    mkdirSync(path.join(dir, sub), { recursive: true });
  }
  const shared = path.join(root, `${name}-shared-suite`);
  mkdirSync(shared, { recursive: true });
  symlinkSync(shared, path.join(dir, 'tests/linked'));
  const file = path.join(dir, 'devlab.config.yaml');
  writeFileSync(file, config);
  return { dir, file };
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('devlab.config.yaml: suites and inventory of a partner repo', () => {
  it('reads suites (folders and globs, symlinks followed) and inventory relative to the file, from the working directory', () => {
    const { dir } = repo(
      'basic',
      'suites: [tests/*, "packages/*/devlab-tests"]\ninventory: devlab/inventory.yaml\nhome: .devlab\n',
    );
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.suites).toEqual(
      ['tests/api', 'tests/linked', 'tests/ui', 'packages/a/devlab-tests', 'packages/b/devlab-tests'].map(
        (d) => path.join(dir, d),
      ),
    );
    expect(config.inventory).toBe(path.join(dir, 'devlab/inventory.yaml'));
    expect(config.home).toBe(path.join(dir, '.devlab'));
  });

  it('resolves paths against the config file, not the working directory (--config / DEVLAB_CONFIG)', () => {
    const { dir, file } = repo('elsewhere', 'suites: [tests/ui]\ninventory: devlab/inventory.yaml\n');
    const config = loadConfig({ env: { DEVLAB_CONFIG: file }, cwd: root });
    expect(config.suites).toEqual([path.join(dir, 'tests/ui')]);
    expect(config.inventory).toBe(path.join(dir, 'devlab/inventory.yaml'));
  });

  it('takes DEVLAB_SUITES (comma-separated) and DEVLAB_INVENTORY relative to the working directory', () => {
    const { dir } = repo('env', '');
    const config = loadConfig({
      env: { DEVLAB_SUITES: 'tests/ui, tests/api', DEVLAB_INVENTORY: 'devlab/lab.yaml' },
      cwd: dir,
    });
    expect(config.suites).toEqual([path.join(dir, 'tests/ui'), path.join(dir, 'tests/api')]);
    expect(config.inventory).toBe(path.join(dir, 'devlab/lab.yaml'));
  });

  it("leaves suites and inventory unset without a config, so commands use devlab's own", () => {
    const config = loadConfig({ env: {}, cwd: root });
    expect(config.suites).toBeUndefined();
    expect(config.inventory).toBeUndefined();
  });

  it('names file, line and column of a suite folder that does not exist or a glob that matches nothing', () => {
    const { file, dir } = repo(
      'missing',
      'inventory: devlab/inventory.yaml\nsuites:\n  - tests/ui\n  - tests/uii\n',
    );
    const missing = errorOf(() => loadConfig({ env: {}, cwd: dir }));
    expect(missing.message).toBe(
      `Invalid configuration in ${file}:4:5, field "suites.1": "tests/uii" is not a folder (relative to ${dir})`,
    );
    writeFileSync(file, 'suites: [tests/ui, "nope/*/x"]\n');
    const glob = errorOf(() => loadConfig({ env: {}, cwd: dir }));
    expect(glob.position).toEqual({ line: 1, column: 20 });
    expect(glob.message).toMatch(/"nope\/\*\/x" matches no folder/);
  });

  it('points at an unknown key itself, with the key it resembles', () => {
    const { file, dir } = repo('typo', 'suites: [tests/ui]\napi:\n  host: 127.0.0.1\n  prot: 7421\n');
    const err = errorOf(() => loadConfig({ env: {}, cwd: dir }));
    expect(err.position).toEqual({ line: 4, column: 3 });
    expect(err.field).toBe('api.prot');
    expect(err.message).toContain(`${file}:4:3`);
    expect(err.message).toContain('did you mean "port"?');
    writeFileSync(file, 'suite: [tests/ui]\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toMatch(
      /:1:1, field "suite": .*did you mean "suites"\?/,
    );
  });

  it('names the line and column of a wrong type and of malformed YAML', () => {
    const { file, dir } = repo('types', 'home: .devlab\ninventory: [a.yaml, b.yaml]\n');
    const err = errorOf(() => loadConfig({ env: {}, cwd: dir }));
    expect([err.field, err.position]).toEqual(['inventory', { line: 2, column: 12 }]);
    writeFileSync(file, 'home: .devlab\nsuites: [tests/ui\ninventory: x\n');
    const yaml = errorOf(() => loadConfig({ env: {}, cwd: dir }));
    expect(yaml.field).toBe('(file)');
    expect(yaml.position?.line).toBeGreaterThanOrEqual(2);
  });
});
