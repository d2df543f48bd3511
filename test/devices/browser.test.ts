import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserDriver } from '../../devices/browser/browser-driver.ts';
import type { BrowserSession } from '../../devices/browser/browser-session.ts';
import { DeviceError } from '../../devices/errors.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { startPageServer } from './page-server.ts';
import { chromiumUp, requireService } from '../support/services.ts';

const up = await requireService('Chromium', chromiumUp);

describe.skipIf(!up)('browser driver (playwright-core, Debian Chromium)', () => {
  const driver = new BrowserDriver();
  const inventory = loadInventory();
  let page: Awaited<ReturnType<typeof startPageServer>>;
  let desktop: BrowserSession;
  let mobile: BrowserSession;

  beforeAll(async () => {
    page = await startPageServer();
    desktop = await driver.openSession(inventory.find((d) => d.id === 'web-desktop')!);
    mobile = await driver.openSession(inventory.find((d) => d.id === 'web-mobile')!);
  });
  afterAll(async () => {
    await desktop?.close();
    await mobile?.close();
    await page?.close();
  });

  it('passes on a phone descriptor: viewport, touch and user agent come from the descriptor', async () => {
    const res = await mobile.run(
      async ({ page: p }) => {
        await p!.goto(page.url);
        const seen = await p!.evaluate(() => ({
          width: document.documentElement.clientWidth,
          touch: navigator.maxTouchPoints,
          ua: navigator.userAgent,
        }));
        expect(seen.width).toBe(412);
        expect(seen.touch).toBeGreaterThan(0);
        expect(seen.ua).toContain('Pixel 7');
      },
      { timeoutMs: 30_000 },
    );
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('passed');
  });

  it('gives each test a fresh context (no cookies from the previous test)', async () => {
    await desktop.run(async ({ page: p }) => void (await p!.goto(page.url)), { timeoutMs: 30_000 });
    const res = await desktop.run(
      async ({ page: p }) => {
        expect(await p!.context().cookies()).toEqual([]);
      },
      { timeoutMs: 30_000 },
    );
    expect(res.status).toBe('passed');
  });

  it('fails for a real reason (the host Chromium lacks HEVC) with screenshot, source and console log', async () => {
    const res = await desktop.run(
      async ({ page: p }) => {
        await p!.goto(page.url);
        expect(await p!.textContent('#title'), 'desktop must offer HEVC').toBe('HEVC playback ready');
      },
      { timeoutMs: 30_000 },
    );
    expect(res.status).toBe('failed');
    expect(res.error?.kind).toBe('test');
    expect(res.artifacts.map((a) => a.name)).toEqual(['screenshot.png', 'page-source.html', 'console.log']);
    expect(res.artifacts[1]!.data.toString()).toContain('HEVC unsupported');
    expect(res.artifacts[2]!.data.toString()).toContain('probe page loaded');
  });

  it('a closed browser is an infrastructure error; an unknown descriptor a config error', async () => {
    const session = await driver.openSession(inventory.find((d) => d.id === 'web-desktop')!);
    const res = await session.run(
      async ({ page: p }) => {
        await p!.context().browser()!.close();
        await p!.goto(page.url);
      },
      { timeoutMs: 30_000 },
    );
    await session.close();
    expect(res.status).toBe('error');
    const bad = { ...inventory.find((d) => d.id === 'web-mobile')!, settings: { descriptor: 'Nokia 3310' } };
    await expect(driver.openSession(bad)).rejects.toBeInstanceOf(DeviceError);
  });
});
