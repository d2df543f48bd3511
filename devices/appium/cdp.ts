import type { Browser as WdioBrowser } from 'webdriverio';
import { type BaseClient, command } from 'webdriver';

/**
 * Chromium's DevTools endpoint as a WebDriver command. Appium's chromium driver proxies it to
 * chromedriver; WebdriverIO's own `sendCommandAndGetResult` uses a route chromedriver lacks (404).
 */
const cdpExecute = command('POST', '/session/:sessionId/goog/cdp/execute', {
  command: 'devlabCdpExecute',
  description: 'Runs a Chrome DevTools Protocol command',
  ref: 'https://chromedriver.chromium.org/',
  parameters: [
    { name: 'cmd', type: 'string', description: 'CDP method, e.g. Page.navigate', required: true },
    { name: 'params', type: 'object', description: 'CDP parameters', required: true },
  ],
});

export async function cdp<T = unknown>(
  browser: WdioBrowser,
  method: string,
  params: Record<string, unknown> = {},
): Promise<T> {
  return (await cdpExecute.call(browser as unknown as BaseClient, method, params)) as T;
}
