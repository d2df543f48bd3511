import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../harness/cli/program.ts';
import { codeTests, makeSuiteDir, manifest, removeSuiteDirs } from './fixtures/suite-dir.ts';
import { type CliOutput, captureCli } from '../support/cli-capture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function run(args: string[]): Promise<CliOutput> {
  return captureCli(() =>
    buildProgram()
      .exitOverride()
      .parseAsync(['node', 'devlab', ...args]),
  );
}

afterAll(removeSuiteDirs);

describe('devlab tests', () => {
  let dir: string;
  let other: string;
  beforeAll(async () => {
    dir = await makeSuiteDir({
      'player/play.test-def.ts': codeTests(
        { id: 'player.play', title: 'Plays', tags: ['smoke'] },
        { id: 'player.seek', title: 'Seeks', tags: ['playback'] },
      ),
      'player/broken.test-def.ts': 'export default defineTest(',
    });
    other = await makeSuiteDir({
      'stb/boot.manifest.yaml': manifest('stb.boot', 'tags: [smoke]\npriority: 3\n'),
    });
  });
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('lists the tests a query selects as a table; --allow-broken names each file it dropped', async () => {
    const { stdout, stderr, exitCode } = await run([
      'tests',
      'list',
      '--suites',
      dir,
      '--suites',
      other,
      '-q',
      'tag:smoke',
      '--allow-broken',
    ]);
    expect(exitCode).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TITLE\s+COMPONENT\s+PRIORITY\s+TAGS$/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s{2,}/)[0])).toEqual(['player.play', 'stb.boot']);
    expect(lines.at(-1)).toBe('2 of 3 tests');
    expect(stderr).toMatch(
      /^warning: dropped the tests of .*player\/broken\.test-def\.ts:1:\d+: syntax error: .* \(--allow-broken\)$/m,
    );
  });

  it('fails on a suite file that does not load, with file:line:column, exit 2', async () => {
    const strict = await run(['tests', 'list', '--suites', dir, '--suites', other]);
    expect(strict.exitCode).toBe(2);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toMatch(/pass --allow-broken to drop them/);
    expect(strict.stderr).toMatch(/^ {2}.*player\/broken\.test-def\.ts:1:\d+: syntax error: /m);
    const show = await run(['tests', 'show', 'stb.boot', '--suites', dir, '--suites', other]);
    expect(show.exitCode).toBe(2);
  });

  it('prints JSON with --json', async () => {
    const { stdout } = await run(['tests', 'list', '--suites', other, '--json', '--query', 'priority>=3']);
    const parsed = JSON.parse(stdout) as { id: string; suite: string; container: { image: string } }[];
    expect(parsed.map((t) => [t.id, t.suite, t.container.image])).toEqual([
      ['stb.boot', 'stb', 'devlab/stb-reference:1'],
    ]);
  });

  it('exits 2 on a bad query and shows where it is wrong', async () => {
    const { stdout, stderr, exitCode } = await run([
      'tests',
      'list',
      '--suites',
      dir,
      '--query',
      'tag:smoke and prio>2',
    ]);
    expect(exitCode).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('unknown test field `prio` (did you mean `priority`?) at line 1, column 15');
    expect(stderr).toContain('  tag:smoke and prio>2\n                ^^^^');
  });

  it('shows one test, and suggests an id for a typo', async () => {
    const shown = await run(['tests', 'show', 'stb.boot', '--suites', other]);
    expect(shown.stdout).toMatch(/^id\s+stb\.boot$/m);
    expect(shown.stdout).toMatch(/^image\s+devlab\/stb-reference:1$/m);
    expect(shown.stdout).toMatch(/^hash\s+[0-9a-f]{64}$/m);
    const typo = await run(['tests', 'show', 'stb.bot', '--suites', other]);
    expect(typo.exitCode).toBe(1);
    expect(typo.stderr).toContain('no test with id "stb.bot" (did you mean "stb.boot"?)');
  });

  it('runs through the npx bin with the same exit code and caret', async () => {
    const exec = promisify(execFile);
    const ok = await exec(
      'npx',
      ['devlab', 'tests', 'list', '--suites', path.join(dir), '--query', 'title:seeks', '--allow-broken'],
      {
        cwd: ROOT,
      },
    );
    expect(ok.stdout).toMatch(/^player\.seek\s+Seeks/m);
    const bad = await exec('npx', ['devlab', 'tests', 'list', '--suites', dir, '--query', 'priority>>2'], {
      cwd: ROOT,
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr).toContain('expected a value after `priority>`');
    expect(bad?.stderr).toContain('  priority>>2\n           ^\n');
  });
});
