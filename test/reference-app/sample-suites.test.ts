import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TestDefinition } from '../../suites/test-api.ts';

const DIR = new URL('../../suites/samples/', import.meta.url);
const AREAS = [
  'smoke',
  'navigation',
  'search',
  'playback',
  'subtitles',
  'resume',
  'accessibility',
  'settings',
];
const COMPONENTS = [
  'home',
  'navigation',
  'search',
  'player',
  'subtitles',
  'resume',
  'accessibility',
  'settings',
];

async function loadAll(): Promise<Map<string, TestDefinition[]>> {
  const byFile = new Map<string, TestDefinition[]>();
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith('.test-def.ts'))
    .sort()) {
    const mod = (await import(new URL(file, DIR).href)) as { default: TestDefinition[] };
    byFile.set(file, mod.default);
  }
  return byFile;
}

describe('sample suites', () => {
  it('every area file loads and default-exports defined tests', async () => {
    const byFile = await loadAll();
    expect([...byFile.keys()].map((f) => f.replace('.test-def.ts', '')).sort()).toEqual([...AREAS].sort());
    for (const [file, tests] of byFile) {
      expect(Array.isArray(tests), file).toBe(true);
      expect(tests.length, file).toBeGreaterThanOrEqual(4);
      for (const t of tests) expect(typeof t.body, t.id).toBe('function');
    }
  });

  it('has at least 36 tests with unique stable ids and realistic metadata', async () => {
    const tests = [...(await loadAll()).values()].flat();
    expect(tests.length).toBeGreaterThanOrEqual(36);
    const ids = tests.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const t of tests) {
      expect(t.id).toMatch(/^app\.[a-z0-9]+\.[a-z0-9-]+$/);
      expect(COMPONENTS).toContain(t.component);
      expect(t.owner).toMatch(/^team-/);
      expect(t.tags.length).toBeGreaterThan(0);
      expect(t.timeoutMs).toBeLessThanOrEqual(30_000);
      expect(t.requires.drivers).toEqual(['appium', 'browser']);
    }
  });

  it('declares capability requirements on the tests that need them', async () => {
    const byId = new Map([...(await loadAll()).values()].flat().map((t) => [t.id, t]));
    expect(byId.get('app.playback.hevc-4k-start')?.requires).toMatchObject({
      codecs: ['hevc'],
      minResolution: '2160p',
    });
    expect(byId.get('app.playback.dolby-vision-4k')?.requires).toMatchObject({ hdr: ['dolby-vision'] });
    expect(byId.get('app.navigation.down-reaches-every-row')?.requires.input).toBe('dpad');
    // Defect-catching tests must not exclude the devices the defect hits.
    expect(byId.get('app.playback.hevc-title-fallback')?.requires.codecs).toBeUndefined();
    expect(byId.get('app.resume.position-offered')?.requires.minMemoryMb).toBeUndefined();
  });
});
