import { freePort } from '../../devices/appium/free-port.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remote } from 'webdriverio';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type ButtonPage, serveButtonPage } from '../support/button-page.ts';
import { CHROMEDRIVER, CHROMIUM, CHROMIUM_ARGS } from '../support/services.ts';

describe('WebdriverIO through a real Appium 3 server to headless Chromium', () => {
  let appium: AppiumServer;
  let page: ButtonPage;

  beforeAll(async () => {
    page = await serveButtonPage();
    appium = await new AppiumServer({
      host: '127.0.0.1',
      port: await freePort(),
      appiumHome: PROJECT_ROOT,
    }).start();
  });

  afterAll(async () => {
    await appium?.stop();
    await page?.close();
  });

  it('opens a session, clicks a button on a loopback page, reads text, takes a screenshot', async () => {
    const url = new URL(appium.url);
    const browser = await remote({
      hostname: url.hostname,
      port: Number(url.port),
      logLevel: 'error',
      connectionRetryCount: 0,
      capabilities: {
        browserName: 'chrome',
        platformName: 'linux',
        'appium:automationName': 'Chromium',
        'appium:executable': CHROMEDRIVER,
        'goog:chromeOptions': { binary: CHROMIUM, args: CHROMIUM_ARGS },
        // appium:executable is the chromium driver's own capability, unknown to WebdriverIO's types.
      } as WebdriverIO.Capabilities,
    });
    try {
      await browser.url(page.url);
      expect(await browser.getTitle()).toBe('devlab button');
      await browser.$('#go').click();
      await browser.$('#go').click();
      expect(await browser.$('#out').getText()).toBe('clicked 2');
      const png = Buffer.from(await browser.takeScreenshot(), 'base64');
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(png.length).toBeGreaterThan(1000);
    } finally {
      await browser.deleteSession();
    }
  });
});
