import path from 'node:path';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type ReferenceApp, startReferenceApp } from '../../suites/reference-app/server.ts';

/** The reference app and a private Appium server, what the WebDriver tests drive an emulated TV with. */
export interface TvParts {
  app: ReferenceApp;
  appium: AppiumServer;
  /** Stops the Appium server, then the app. */
  close(): Promise<void>;
}

/**
 * The reference app on loopback and a real Appium 3 server (its chromium driver drives Debian's Chromium
 * as the reference lab's emulated TVs) on a free port, its log in `dir`.
 */
export async function startTvParts(dir: string): Promise<TvParts> {
  const app = await startReferenceApp();
  try {
    const appium = await new AppiumServer({
      host: '127.0.0.1',
      port: await freePort(),
      appiumHome: PROJECT_ROOT,
      logFile: path.join(dir, 'appium.log'),
    }).start();
    return {
      app,
      appium,
      async close() {
        await appium.stop();
        await app.close();
      },
    };
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** The reference inventory's device `id` (an emulated TV), driven through the Appium server at `server`. */
export function referenceTv(id: string, server: string): DeviceRecord {
  const tv = loadInventory().find((d) => d.id === id);
  if (!tv) throw new Error(`no device ${id} in the reference inventory`);
  return { ...tv, settings: { ...tv.settings, server } };
}
