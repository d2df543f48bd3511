import { type BrowserContextOptions, chromium, devices } from 'playwright-core';
import type { DeviceRecord } from '../device.ts';
import type { DeviceDriver } from '../driver.ts';
import { DeviceError, InfrastructureError } from '../errors.ts';
import { BrowserSession } from './browser-session.ts';
import { type BrowserSettings, browserSettingsSchema } from './settings.ts';

/** Flags for Debian's Chromium in a container-less CI host: no sandbox, no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function browserSettings(device: DeviceRecord): BrowserSettings {
  const parsed = browserSettingsSchema.safeParse(device.settings);
  if (!parsed.success) {
    throw new DeviceError(
      'config',
      `Device ${device.id}: invalid browser settings: ${parsed.error.message}`,
      {
        deviceId: device.id,
      },
    );
  }
  return parsed.data;
}

/**
 * Leaves SIGINT/SIGTERM/SIGHUP to the process that launched the browser (it closes it when it stops).
 * The browser still goes when that process exits or dies: Playwright kills it on exit, and Chromium
 * quits when its pipe to a killed parent closes.
 */
export const OWNER_HANDLES_SIGNALS = {
  handleSIGINT: false,
  handleSIGTERM: false,
  handleSIGHUP: false,
} as const;

/** Context options from a Playwright descriptor, with the inventory's viewport/user agent on top. */
export function contextOptions(device: DeviceRecord, settings: BrowserSettings): BrowserContextOptions {
  let base: BrowserContextOptions = {};
  if (settings.descriptor) {
    const descriptor = devices[settings.descriptor];
    if (!descriptor) {
      throw new DeviceError(
        'config',
        `Device ${device.id}: unknown Playwright descriptor "${settings.descriptor}"`,
        {
          deviceId: device.id,
        },
      );
    }
    // Descriptors name a default browser; we always run Chromium.
    const { defaultBrowserType: _ignored, ...rest } = descriptor;
    base = rest;
  }
  return {
    ...base,
    ...(settings.viewport ? { viewport: settings.viewport } : {}),
    ...(settings.userAgent ? { userAgent: settings.userAgent } : {}),
  };
}

/** Desktop/mobile web devices emulated by Playwright on the host's Chromium. */
export class BrowserDriver implements DeviceDriver<BrowserSettings> {
  readonly kind = 'browser' as const;
  readonly settingsSchema = browserSettingsSchema;

  async openSession(device: DeviceRecord): Promise<BrowserSession> {
    const settings = browserSettings(device);
    const options = contextOptions(device, settings);
    try {
      const browser = await chromium.launch({
        executablePath: settings.executablePath,
        headless: settings.headless,
        args: CHROMIUM_ARGS,
        timeout: 30_000,
        // The process owning the device (an agent) closes its sessions on SIGTERM/SIGINT after the running
        // test; Playwright's own handlers would close the browser under that test first (an infra error).
        ...OWNER_HANDLES_SIGNALS,
      });
      return new BrowserSession(device, browser, options);
    } catch (err) {
      throw new InfrastructureError(
        `Device ${device.id}: Chromium did not start: ${(err as Error).message}`,
        {
          deviceId: device.id,
          cause: err,
        },
      );
    }
  }
}
