import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { DeviceRecord } from '../../../devices/device.ts';
import { loadInventory } from '../../../devices/inventory/load.ts';
import { loadCatalog } from '../../../suites/catalog/catalog.ts';
import type { TestMeta } from '../../../suites/test-api.ts';
import { scaleDevices, scaleTests, TEST_COUNT } from './lab-shape.ts';

export interface ScaleLab {
  suitesDir: string;
  inventoryFile: string;
  /** The catalog's tests and the inventory's devices, as the control plane loads them. */
  tests: TestMeta[];
  devices: DeviceRecord[];
}

function writeSuite(dir: string): void {
  for (const test of scaleTests()) {
    const folder = path.join(dir, test.component);
    mkdirSync(folder, { recursive: true });
    const manifest = {
      ...test,
      image: 'devlab/stb-reference:1',
      command: ['/opt/conformance/run.sh', test.component],
      requires: { drivers: ['docker'] },
      results: '/results/junit.xml',
    };
    writeFileSync(path.join(folder, `${test.id}.manifest.yaml`), YAML.stringify(manifest));
  }
}

/** Container devices that no agent will run: the planner only reads their records. */
function writeInventory(file: string): void {
  const devices = scaleDevices().map((d) => ({
    id: d.id,
    name: `${d.model.model} on ${d.firmware}`,
    driver: 'docker',
    model: d.model.model,
    platform: d.model.platform,
    os: d.model.os,
    firmware: d.firmware,
    host: d.host,
    tags: [d.model.platform, d.model.resolution],
    capabilities: {
      codecs: d.model.codecs,
      hdr: d.model.resolution === '2160p' ? ['hdr10'] : [],
      drm: { widevine: d.model.memoryMb >= 1536 ? 'L1' : 'L3' },
      resolution: d.model.resolution,
      memoryMb: d.model.memoryMb,
      input: ['dpad'],
    },
    settings: { image: 'devlab/stb-reference:1', network: 'none' },
  }));
  writeFileSync(file, YAML.stringify({ version: 1, devices }));
}

/**
 * The scale lab's suite folder (500 container manifests) and inventory under `dir`, written once (into a
 * temporary folder renamed into place, so a concurrent reader never sees half of it), and loaded back.
 */
export async function writeScaleLab(dir: string): Promise<ScaleLab> {
  const suitesDir = path.join(dir, 'suite');
  const inventoryFile = path.join(dir, 'inventory.yaml');
  if (!existsSync(inventoryFile)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeSuite(path.join(tmp, 'suite'));
    writeInventory(path.join(tmp, 'inventory.yaml'));
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another process wrote the same files first
    }
  }
  const catalog = await loadCatalog([suitesDir]);
  if (catalog.problems.length || catalog.entries.length !== TEST_COUNT) {
    throw new Error(
      `scale lab catalog: ${catalog.entries.length} tests, ${JSON.stringify(catalog.problems[0])}`,
    );
  }
  const tests = catalog.entries.map(
    ({ definition: _d, suite: _s, source: _src, kind: _k, hash: _h, ...meta }) => meta,
  );
  return { suitesDir, inventoryFile, tests, devices: loadInventory(inventoryFile) };
}
