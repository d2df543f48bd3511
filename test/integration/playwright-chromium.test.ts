import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ButtonPage, serveButtonPage } from '../support/button-page.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/services.ts';

describe("playwright-core driving Debian's Chromium", () => {
  let page: ButtonPage;
  beforeAll(async () => {
    page = await serveButtonPage();
  });
  afterAll(async () => {
    await page?.close();
  });

  it('clicks the button, reads text and takes a screenshot', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      const tab = await context.newPage();
      await tab.goto(page.url);
      await tab.click('#go');
      await expect.poll(() => tab.textContent('#out')).toBe('clicked 1');
      const png = await tab.screenshot();
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(browser.version()).toMatch(/^\d+\./);
    } finally {
      await browser.close();
    }
  });
});
