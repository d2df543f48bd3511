import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { checkCatalog, describeProblem, SuiteLoadError } from '../../suites/catalog/load-problems.ts';
import { codeTests, makeSuiteDir, manifest, removeSuiteDirs } from './fixtures/suite-dir.ts';

const DEFINE_TEST = fileURLToPath(new URL('../../suites/define-test.ts', import.meta.url));

afterAll(removeSuiteDirs);

/** Five tests in one file, the fourth with a typo in `requires` (what dropped a partner's whole file). */
const FIVE_TESTS = `import { defineTest } from ${JSON.stringify(DEFINE_TEST)};

const body = async () => {};
export default [
  defineTest({ id: 'app.one', title: 'one', component: 'app', owner: 'qa' }, body),
  defineTest({ id: 'app.two', title: 'two', component: 'app', owner: 'qa' }, body),
  defineTest({ id: 'app.three', title: 'three', component: 'app', owner: 'qa' }, body),
  defineTest({
    id: 'app.four',
    title: 'four',
    component: 'app',
    owner: 'qa',
    requires: { codecs: ['h264'], drivres: ['browser'] },
  }, body),
  defineTest({ id: 'app.five', title: 'five', component: 'app', owner: 'qa' }, body),
];
`;

const SYNTAX = `import { defineTest } from ${JSON.stringify(DEFINE_TEST)};

export default defineTest({ id: 'app.six', title: 'six',
  component: 'app' owner: 'qa' }, async () => {});
`;

const MISSING_PACKAGE = `import { defineTest } from ${JSON.stringify(DEFINE_TEST)};
import { helper } from 'devlab-no-such-package';

export default defineTest({ id: 'app.seven', title: helper, component: 'app', owner: 'qa' }, async () => {});
`;

async function brokenSuite(): Promise<string> {
  return makeSuiteDir({
    'app/five.test-def.ts': FIVE_TESTS,
    'app/syntax.test-def.ts': SYNTAX,
    'app/missing.test-def.ts': MISSING_PACKAGE,
    'app/ok.test-def.ts': codeTests({ id: 'app.ok', tags: ['smoke'] }),
    'box/boot.manifest.yaml': manifest('box.boot', 'requires:\n  drivers: [docker]\n  minMemoryMB: 512\n'),
  });
}

describe('a suite file that does not load', () => {
  it('is a problem at the file:line:column of what is wrong, with a "did you mean" for a key', async () => {
    const dir = await brokenSuite();
    const catalog = await loadCatalog([dir]);
    expect(catalog.entries.map((e) => e.id)).toEqual(['app.ok']);
    const problems = Object.fromEntries(
      catalog.problems.map((p) => [
        path.relative(dir, p.file),
        describeProblem(p, (f) => path.relative(dir, f)),
      ]),
    );
    expect(problems).toEqual({
      'app/five.test-def.ts':
        'app/five.test-def.ts:13:35: Invalid test "app.four": field requires.drivres: unknown field (did you mean drivers?)',
      'app/syntax.test-def.ts': expect.stringMatching(/^app\/syntax\.test-def\.ts:4:20: syntax error: /),
      'app/missing.test-def.ts': expect.stringMatching(
        /^app\/missing\.test-def\.ts:2:24: .*devlab-no-such-package/,
      ),
      'box/boot.manifest.yaml':
        'box/boot.manifest.yaml:10:3: field requires.minMemoryMB: unknown field `minMemoryMB` (did you mean minMemoryMb?)',
    });
  });

  it('fails the catalog check, unless --allow-broken, which names each dropped file', async () => {
    const dir = await brokenSuite();
    const catalog = await loadCatalog([dir]);
    const strict = (() => {
      try {
        checkCatalog(catalog);
      } catch (err) {
        return err;
      }
    })();
    expect(strict).toBeInstanceOf(SuiteLoadError);
    expect((strict as SuiteLoadError).message).toContain('five.test-def.ts:13:35: ');
    const warnings: string[] = [];
    expect(checkCatalog(catalog, { allowBroken: true, warn: (line) => warnings.push(line) })).toBe(catalog);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(
      /^warning: dropped the tests of .*five\.test-def\.ts:13:35: .*\(--allow-broken\)$/,
    );
  });

  it('stops `devlab server` before it opens anything: exit 2 with file:line:column', async () => {
    const dir = await brokenSuite();
    const home = mkdtempSync(path.join(tmpdir(), 'devlab-strict-'));
    try {
      const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), 'server', '--suites', dir, '--port', '0'],
          // No Redis behind this URL: the start must fail on the suites, before it connects to anything.
          {
            env: { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: 'redis://127.0.0.1:1' },
            timeout: 60_000,
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
        );
      });
      expect(result.code).toBe(2);
      expect(result.stdout).not.toContain('listening');
      expect(result.stderr).toContain(
        `${path.join(dir, 'app/five.test-def.ts')}:13:35: Invalid test "app.four"`,
      );
      expect(result.stderr).toContain('--allow-broken');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
