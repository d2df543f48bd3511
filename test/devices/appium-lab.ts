import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { loadInventory } from '../../devices/inventory/load.ts';

/** The tests' Appium port: never the lab's default (4723) nor the benchmarks' (4791). */
export const TEST_APPIUM_PORT = 4790;

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** A private Appium server for the tests (never the lab's default port). */
export function testAppiumServer(): AppiumServer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devlab-test-appium-'));
  return new AppiumServer({
    host: '127.0.0.1',
    port: TEST_APPIUM_PORT,
    appiumHome: process.env['APPIUM_HOME'] ?? PROJECT,
    logFile: path.join(dir, 'appium.log'),
  });
}

/** A reference Appium device pointed at the test server. */
export function referenceAppiumDevice(id: string, overrides: Record<string, unknown> = {}): DeviceRecord {
  const d = loadInventory().find((x) => x.id === id);
  if (!d) throw new Error(`no ${id} in the reference inventory`);
  return { ...d, settings: { ...d.settings, server: `http://127.0.0.1:${TEST_APPIUM_PORT}`, ...overrides } };
}
