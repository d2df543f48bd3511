import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverTests } from '../../suites/discovery/discover-tests.ts';
import { codeTests, makeSuiteDir, manifest, removeSuiteDirs } from './fixtures/suite-dir.ts';

afterAll(removeSuiteDirs);

describe('discoverTests', () => {
  it('loads code tests and manifests, carrying on past broken files', async () => {
    const dir = await makeSuiteDir({
      'top.test-def.ts': codeTests({ id: 'top.one' }),
      'player/multi.test-def.ts': codeTests({ id: 'player.a' }, { id: 'player.b', tags: ['smoke'] }),
      'player/syntax.test-def.ts': 'export default defineTest({ id: ',
      'player/bad-meta.test-def.ts': codeTests({ id: 'Bad Id' }),
      'player/no-default.test-def.ts': 'export const x = 1;\n',
      'player/not-a-test.test-def.ts': 'export default { id: "x" };\n',
      'stb/boot.manifest.yaml': manifest('stb.boot'),
      'stb/broken.manifest.yaml': manifest('stb.broken', 'priority: urgent\n'),
      'stb/helper.ts': 'export const notATest = true;\n',
      'node_modules/pkg/x.test-def.ts': 'this is not typescript',
      'reference-app/x.test-def.ts': 'this is not typescript',
      '.hidden/x.manifest.yaml': ': not yaml',
    });
    const { tests, problems } = await discoverTests([dir]);

    expect(tests.map((t) => [t.definition.id, t.suite, t.kind, path.relative(dir, t.source)])).toEqual([
      ['player.a', 'player', 'code', 'player/multi.test-def.ts'],
      ['player.b', 'player', 'code', 'player/multi.test-def.ts'],
      ['stb.boot', 'stb', 'manifest', 'stb/boot.manifest.yaml'],
      ['top.one', path.basename(dir), 'code', 'top.test-def.ts'],
    ]);
    expect(tests.find((t) => t.definition.id === 'stb.boot')?.sourceText).toContain(
      'image: devlab/stb-reference:1',
    );
    expect(tests.find((t) => t.definition.id === 'top.one')?.sourceText).toMatch(
      /ctx\.log\.info\(["']ran["']\)/,
    );

    const byFile = Object.fromEntries(problems.map((p) => [path.relative(dir, p.file), p]));
    expect(Object.keys(byFile).sort()).toEqual([
      'player/bad-meta.test-def.ts',
      'player/no-default.test-def.ts',
      'player/not-a-test.test-def.ts',
      'player/syntax.test-def.ts',
      'stb/broken.manifest.yaml',
    ]);
    expect(problems.every((p) => p.kind === 'broken-file')).toBe(true);
    expect(byFile['player/bad-meta.test-def.ts']?.message).toMatch(/Invalid test "Bad Id": field id/);
    expect(byFile['player/no-default.test-def.ts']?.message).toMatch(/no default export/);
    expect(byFile['player/not-a-test.test-def.ts']?.message).toMatch(/no body function/);
    expect(byFile['player/syntax.test-def.ts']?.message.length).toBeGreaterThan(0);
    expect(byFile['stb/broken.manifest.yaml']).toMatchObject({ line: 8, column: 11 });
    expect(byFile['stb/broken.manifest.yaml']?.message).toMatch(/^field priority: /);
  });

  it('reports a duplicate id naming both files and keeps the first', async () => {
    const dir = await makeSuiteDir({
      'a/first.test-def.ts': codeTests({ id: 'dup.id', title: 'first' }),
      'b/second.manifest.yaml': manifest('dup.id'),
    });
    const { tests, problems } = await discoverTests([dir]);
    expect(tests.map((t) => t.definition.title)).toEqual(['first']);
    expect(problems).toEqual([
      {
        kind: 'duplicate-id',
        file: path.join(dir, 'b/second.manifest.yaml'),
        line: 1,
        column: 1,
        message: `duplicate test id "dup.id": defined in ${path.join(dir, 'a/first.test-def.ts')} and in ${path.join(dir, 'b/second.manifest.yaml')}`,
      },
    ]);
  });

  it('finds duplicates across suite directories and reports a missing directory', async () => {
    const one = await makeSuiteDir({ 'x.test-def.ts': codeTests({ id: 'same' }) });
    const two = await makeSuiteDir({ 'y.manifest.yaml': manifest('same') });
    const missing = path.join(one, 'does-not-exist');
    const { tests, problems } = await discoverTests([one, two, missing]);
    expect(tests).toHaveLength(1);
    expect(problems.map((p) => p.kind)).toEqual(['duplicate-id', 'unreadable-dir']);
    expect(problems[1]?.file).toBe(missing);
  });

  it('sees an edited file on the next scan in the same process', async () => {
    const dir = await makeSuiteDir({ 'a.test-def.ts': codeTests({ id: 'edit.me', title: 'before' }) });
    const first = await discoverTests([dir]);
    const file = path.join(dir, 'a.test-def.ts');
    await writeFile(file, codeTests({ id: 'edit.me', title: 'after' }));
    const later = new Date(Date.now() + 5_000);
    await utimes(file, later, later);
    const second = await discoverTests([dir]);
    expect([first.tests[0]?.definition.title, second.tests[0]?.definition.title]).toEqual([
      'before',
      'after',
    ]);
  });
});
