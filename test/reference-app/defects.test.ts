import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReferenceApp, startReferenceApp } from '../../suites/reference-app/server.ts';
import { byTestId, focusedTestId, openRoute, settledPlayer } from './app-page.ts';
import { launchChromium } from './chromium.ts';
import { BUDGET, HEALTHY, type LabProfile, MIDRANGE, newDevicePage } from './lab-profiles.ts';

// Real Chromium under emulated device profiles against the real app: each defect in DEFECTS.md must
// show on the profile it is documented to hit and not on the healthy one.
describe('reference app defects by device profile (playwright-core + /usr/bin/chromium)', () => {
  let app: ReferenceApp;
  let browser: Browser;
  const pages = new Map<string, Page>();
  const on = (p: LabProfile): Page => pages.get(p.id)!;

  beforeAll(async () => {
    app = await startReferenceApp();
    browser = await launchChromium();
    for (const p of [HEALTHY, BUDGET, MIDRANGE]) pages.set(p.id, await newDevicePage(browser, p));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('detects each profile from the UA token, MSE probes and the window', async () => {
    await openRoute(on(HEALTHY), app.url, 'home');
    await openRoute(on(BUDGET), app.url, 'home');
    const device = (page: Page) =>
      page.evaluate(() => (window as unknown as { devlabApp: { device: object } }).devlabApp.device);
    expect(await device(on(HEALTHY))).toMatchObject({
      model: HEALTHY.model,
      codecs: ['h264', 'hevc', 'av1'],
      hdr: ['hdr10', 'dolby-vision'],
      resolution: '2160p',
      layout: 'full',
    });
    expect(await device(on(BUDGET))).toMatchObject({
      codecs: ['h264'],
      memoryMb: 768,
      firmware: '6.0',
      layout: 'compact',
    });
  });

  it('falls back to a desktop profile (h264/vp9) without the DevlabDevice token', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await openRoute(page, app.url, 'home');
      const device = await page.evaluate(
        () => (window as unknown as { devlabApp: { device: object } }).devlabApp.device,
      );
      expect(device).toMatchObject({ token: false, model: 'desktop', codecs: ['h264', 'vp9'], hdr: [] });
    } finally {
      await context.close();
    }
  });

  it('D1: the HEVC-first title fails with PLAY-3001 without HEVC instead of falling back', async () => {
    await openRoute(on(HEALTHY), app.url, 'player/t-aurora');
    expect(await settledPlayer(on(HEALTHY))).toMatchObject({ state: 'playing', codec: 'hevc' });
    await openRoute(on(BUDGET), app.url, 'player/t-aurora');
    expect(await settledPlayer(on(BUDGET))).toMatchObject({ state: 'error', errorCode: 'PLAY-3001' });
    expect(await on(BUDGET).getAttribute(byTestId('player-error'), 'role')).toBe('alert');
    // The same device plays other H.264 titles, so the title does have a usable stream.
    await openRoute(on(BUDGET), app.url, 'player/t-nebula');
    expect(await settledPlayer(on(BUDGET))).toMatchObject({ state: 'playing', codec: 'h264' });
  });

  it('D2: the compact layout traps focus in the Trending row', async () => {
    const rowsAfterDowns = async (page: Page) => {
      await openRoute(page, app.url, 'home');
      for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
      return focusedTestId(page);
    };
    expect(await rowsAfterDowns(on(HEALTHY))).toMatch(/^tile-kids-/);
    expect(await rowsAfterDowns(on(BUDGET))).toMatch(/^tile-trending-/);
  });

  it('D4: the legacy subtitle renderer on Tizen < 6.5 rejects the cues', async () => {
    const cue = async (page: Page) => {
      await openRoute(page, app.url, 'player/t-harbor');
      await settledPlayer(page);
      await page.click(byTestId('player-subtitles-en'));
      const line = page.locator(byTestId('subtitle-line'));
      await page.waitForFunction(() =>
        ['ready', 'error'].includes(
          document.querySelector<HTMLElement>('[data-testid="subtitle-line"]')!.dataset['state']!,
        ),
      );
      return {
        state: await line.getAttribute('data-state'),
        renderer: await line.getAttribute('data-renderer'),
        text: await line.textContent(),
      };
    };
    expect(await cue(on(HEALTHY))).toEqual({
      state: 'ready',
      renderer: 'standard',
      text: 'Hello from the reference lab.',
    });
    expect(await cue(on(BUDGET))).toEqual({ state: 'error', renderer: 'legacy', text: '' });
  });

  it('D5: low-memory devices lose the resume position', async () => {
    const resumeAfterWatching = async (page: Page) => {
      await openRoute(page, app.url, 'title/t-meadow');
      await page.click(byTestId('play-button'));
      await settledPlayer(page);
      await page.click(byTestId('player-seek-forward'));
      await page.click(byTestId('player-seek-forward'));
      await page.keyboard.press('Escape');
      await page.waitForFunction(
        () => document.body.dataset['route'] === 'title' && document.body.dataset['ready'] === 'true',
      );
      return page
        .locator(byTestId('resume-button'))
        .getAttribute('data-position', { timeout: 500 })
        .catch(() => null);
    };
    expect(Number(await resumeAfterWatching(on(HEALTHY)))).toBeGreaterThanOrEqual(60);
    expect(await resumeAfterWatching(on(BUDGET))).toBeNull();
  });

  it('D6: Dolby Vision title is washed out on an HDR10-only panel', async () => {
    await openRoute(on(HEALTHY), app.url, 'player/t-nebula');
    expect(await settledPlayer(on(HEALTHY))).toMatchObject({ state: 'playing', hdr: 'dolby-vision' });
    expect(await on(HEALTHY).getAttribute(byTestId('player-surface'), 'class')).not.toContain('washed-out');
    await openRoute(on(MIDRANGE), app.url, 'player/t-nebula');
    expect(await settledPlayer(on(MIDRANGE))).toMatchObject({ state: 'playing', hdr: 'dolby-vision' });
    expect(await on(MIDRANGE).getAttribute(byTestId('player-surface'), 'class')).toContain('washed-out');
  });

  it('D7: AV1 4K fails to start (PLAY-4002) below 2 GB', async () => {
    await openRoute(on(HEALTHY), app.url, 'player/t-coral');
    expect(await settledPlayer(on(HEALTHY))).toMatchObject({
      state: 'playing',
      codec: 'av1',
      resolution: '2160p',
    });
    await openRoute(on(MIDRANGE), app.url, 'player/t-coral');
    expect(await settledPlayer(on(MIDRANGE))).toMatchObject({
      state: 'error',
      errorCode: 'PLAY-4002',
      codec: 'av1',
    });
  });

  it('D3: a throttled CPU stretches the search debounce past 250 ms', async () => {
    const page = on(HEALTHY);
    const cdp = await page.context().newCDPSession(page);
    try {
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 8 });
      await openRoute(page, app.url, 'search');
      const factor = Number(await page.evaluate(() => document.body.dataset['cpuFactor']));
      expect(factor).toBeGreaterThanOrEqual(3);
      await page.locator(byTestId('search-input')).pressSequentially('aur');
      expect(Number(await page.getAttribute(byTestId('search-status'), 'data-debounce-ms'))).toBeGreaterThan(
        250,
      );
    } finally {
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
      await cdp.detach();
    }
  });
});
