import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { findSuiteFiles } from '../../suites/discovery/suite-files.ts';

const execFileAsync = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'devlab-outside-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * A test file as a partner writes it: TypeScript with type annotations, in a folder with no package.json
 * saying "type": "module" (so Node reads it as CommonJS), reached through a symlinked folder.
 */
function partnerSuite(): string {
  const shared = path.join(root, 'shared-tests');
  mkdirSync(path.join(shared, 'player'), { recursive: true });
  writeFileSync(
    path.join(shared, 'player/seek.test-def.ts'),
    `import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const seconds: number = 30;
export default defineTest(
  { id: 'partner.seek', title: 'Seeks ' + seconds + ' s', tags: ['partner'], component: 'player', owner: 'qa' },
  async () => {},
);
`,
  );
  const repo = path.join(root, 'repo');
  mkdirSync(path.join(repo, 'suite'), { recursive: true });
  writeFileSync(path.join(repo, 'package.json'), '{ "name": "partner", "private": true }\n');
  symlinkSync(shared, path.join(repo, 'suite/linked'));
  return repo;
}

describe('suites outside the checkout (the checkout CLI, as a process)', () => {
  it('loads a CommonJS-package TypeScript test file through a symlinked folder named by devlab.config.yaml', async () => {
    const repo = partnerSuite();
    writeFileSync(path.join(repo, 'devlab.config.yaml'), 'suites: [suite]\n');
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), 'tests', 'list', '--json'],
      { cwd: repo },
    );
    expect(stderr).toBe('');
    const tests = JSON.parse(stdout) as { id: string; title: string; suite: string; source: string }[];
    expect(tests.map((t) => [t.id, t.title, t.suite])).toEqual([
      ['partner.seek', 'Seeks 30 s', 'linked/player'],
    ]);
    expect(tests[0]!.source).toBe(path.join(repo, 'suite/linked/player/seek.test-def.ts'));
  }, 60_000);

  it('walks a symlink cycle once, and names a test-file link that points nowhere', async () => {
    const dir = path.join(root, 'cycle');
    mkdirSync(path.join(dir, 'a'), { recursive: true });
    writeFileSync(path.join(dir, 'a/one.manifest.yaml'), '');
    symlinkSync(dir, path.join(dir, 'a/loop'));
    expect((await findSuiteFiles(dir)).map((f) => f.file)).toEqual([path.join(dir, 'a/one.manifest.yaml')]);
    symlinkSync(path.join(root, 'gone.test-def.ts'), path.join(dir, 'a/gone.test-def.ts'));
    await expect(findSuiteFiles(dir)).rejects.toThrow(
      /a\/gone\.test-def\.ts: the suite file link points nowhere/,
    );
  });
});
