import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../devices/browser/browser-driver.ts';

export { CHROMIUM_ARGS };

/** Debian's Chromium; playwright-core never downloads a browser here. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}
