import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { isManifestTest } from '../../suites/manifest/load-manifest.ts';

const CONFORMANCE = fileURLToPath(new URL('../../suites/conformance', import.meta.url));

describe('suites/conformance manifests', () => {
  it('load without problems and follow the stb-reference runner contract', async () => {
    const catalog = await loadCatalog([CONFORMANCE]);
    expect(catalog.problems).toEqual([]);
    expect(catalog.entries.length).toBeGreaterThanOrEqual(6);
    for (const entry of catalog.entries) {
      expect(entry.id).toMatch(/^stb\.conformance\./);
      expect(entry.suite).toBe('conformance');
      expect(entry.requires.drivers).toEqual(['docker']);
      const def = entry.definition;
      if (!isManifestTest(def)) throw new Error(`${entry.id} is not a manifest test`);
      // No image of their own: each device's image (its firmware) is what they test.
      expect(def.container.image).toBeUndefined();
      expect(def.container.command[0]).toBe('/opt/conformance/run.sh');
      expect(def.container.results).toBe('/results/junit.xml');
    }
  });
});
