import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { contentHash } from '../../suites/catalog/content-hash.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { codeTests, makeSuiteDir, manifest, removeSuiteDirs } from './fixtures/suite-dir.ts';

const META: TestMeta = {
  id: 'a',
  title: 'A',
  tags: ['x', 'y'],
  component: 'c',
  owner: 'o',
  priority: 1,
  timeoutMs: 1000,
  retries: 0,
  requires: { codecs: ['hevc'] },
};

afterAll(removeSuiteDirs);

describe('content hash', () => {
  it('is a sha256 that ignores tag order but not metadata or body changes', () => {
    const base = contentHash(META, 'body');
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(contentHash({ ...META, tags: ['y', 'x'] }, 'body')).toBe(base);
    expect(contentHash({ ...META, title: 'B' }, 'body')).not.toBe(base);
    expect(contentHash({ ...META, requires: { codecs: ['av1'] } }, 'body')).not.toBe(base);
    expect(contentHash(META, 'body2')).not.toBe(base);
  });
});

describe('loadCatalog', () => {
  it('gives each entry its suite, source, kind and a hash that follows the body', async () => {
    const dir = await makeSuiteDir({
      'player/p.test-def.ts': codeTests({ id: 'player.play', tags: ['smoke'] }),
      'stb/boot.manifest.yaml': manifest('stb.boot'),
    });
    const catalog = await loadCatalog([dir]);
    expect(catalog.problems).toEqual([]);
    expect(catalog.entries.map((e) => [e.id, e.suite, e.kind])).toEqual([
      ['player.play', 'player', 'code'],
      ['stb.boot', 'stb', 'manifest'],
    ]);
    expect(catalog.get('stb.boot')?.requires).toEqual({ drivers: ['docker'] });
    const changed = await makeSuiteDir({
      'player/p.test-def.ts': codeTests({
        id: 'player.play',
        tags: ['smoke'],
        body: "ctx.log.info('changed');",
      }),
      'stb/boot.manifest.yaml': manifest('stb.boot'),
    });
    const after = await loadCatalog([changed]);
    expect(after.get('player.play')?.hash).not.toBe(catalog.get('player.play')?.hash);
    expect(after.get('stb.boot')?.hash).toBe(catalog.get('stb.boot')?.hash);
  });
});
