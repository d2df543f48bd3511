import { chromium } from 'playwright-core';
import { browserSettings, CHROMIUM_ARGS, OWNER_HANDLES_SIGNALS } from '../browser/browser-driver.ts';
import type { DeviceRecord } from '../device.ts';
import { type HealthResult, timed } from './health-check.ts';

/** Launches the device's Chromium, opens a blank page and closes it. */
export function browserHealth(device: DeviceRecord): Promise<HealthResult> {
  return timed(device, async () => {
    const settings = browserSettings(device);
    const browser = await chromium.launch({
      executablePath: settings.executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 20_000,
      ...OWNER_HANDLES_SIGNALS,
    });
    try {
      const page = await browser.newPage();
      await page.goto('about:blank');
      return `Chromium ${browser.version()} launched`;
    } finally {
      await browser.close();
    }
  });
}
