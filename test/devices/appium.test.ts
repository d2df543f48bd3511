import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppiumDriver } from '../../devices/appium/appium-driver.ts';
import type { AppiumServer } from '../../devices/appium/appium-server.ts';
import type { AppiumSession } from '../../devices/appium/appium-session.ts';
import { deviceUserAgent } from '../../devices/reference-lab/user-agent.ts';
import { referenceAppiumDevice, testAppiumServer } from './appium-lab.ts';
import { startPageServer } from './page-server.ts';
import { chromiumUp, requireService } from '../support/services.ts';

interface Report {
  userAgent: string;
  width: number;
  height: number;
  h264: boolean;
  hevc: boolean;
  av1: boolean;
  dolbyVision: boolean;
  canPlayHevc: string;
  hdr: boolean;
}

const up = await requireService('Chromium', chromiumUp);

describe.skipIf(!up)('appium driver (own Appium 3 server, chromium driver)', () => {
  let server: AppiumServer;
  let page: Awaited<ReturnType<typeof startPageServer>>;
  const driver = new AppiumDriver();
  const sessions: AppiumSession[] = [];

  beforeAll(async () => {
    server = await testAppiumServer().start();
    page = await startPageServer();
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await page?.close();
    await server?.stop();
  });

  async function open(id: string, overrides: Record<string, unknown> = {}): Promise<AppiumSession> {
    const session = await driver.openSession(referenceAppiumDevice(id, overrides));
    sessions.push(session);
    return session;
  }

  it('a 4K HDR TV announces itself and answers codec probes per its profile', async () => {
    const session = await open('tv-4k-hdr');
    let report: Report | undefined;
    const res = await session.run(
      async ({ driver }) => {
        await driver!.url(page.url);
        report = JSON.parse(await driver!.$('#report').getText()) as Report;
        expect(await driver!.$('#title').getText()).toBe('HEVC playback ready');
      },
      { timeoutMs: 30_000 },
    );
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('passed');
    expect(res.artifacts).toEqual([]);
    expect(report).toMatchObject({
      userAgent: deviceUserAgent(session.device),
      width: 1920,
      h264: true,
      hevc: true,
      av1: true,
      dolbyVision: true,
      canPlayHevc: 'probably',
      hdr: true,
    });
    expect(report?.userAgent).toContain('res=2160p');
  });

  it('an h264-only stick fails an HEVC test for a real reason, with screenshot, source and browser log', async () => {
    const session = await open('stick-1080p');
    let report: Report | undefined;
    const res = await session.run(
      async ({ driver }) => {
        await driver!.url(page.url);
        report = JSON.parse(await driver!.$('#report').getText()) as Report;
        expect(await driver!.$('#title').getText(), 'app must offer HEVC playback').toBe(
          'HEVC playback ready',
        );
      },
      { timeoutMs: 30_000 },
    );
    expect(report).toMatchObject({
      h264: true,
      hevc: false,
      av1: false,
      canPlayHevc: '',
      hdr: false,
      width: 1920,
    });
    expect(res.status).toBe('failed');
    expect(res.error?.kind).toBe('test');
    expect(res.error?.message).toContain('app must offer HEVC playback');
    const names = res.artifacts.map((a) => a.name);
    expect(names).toEqual(['screenshot.png', 'page-source.html', 'browser-log.json']);
    expect(res.artifacts[0]!.data.subarray(1, 4).toString()).toBe('PNG');
    expect(res.artifacts[1]!.data.toString()).toContain('HEVC unsupported on this device');
    expect(res.artifacts[2]!.data.toString()).toContain('probe page loaded');
  });

  it('reuses one session across tests; the reset stops the last page so nothing it still does leaks', async () => {
    const session = await open('stb-720p-lowmem');
    let firstId = '';
    const first = await session.run(
      async ({ driver }) => {
        firstId = driver!.sessionId;
        await driver!.url(page.url);
        await driver!.execute('localStorage.setItem("k", "v")');
        // Like a player saving its resume point: keeps writing after the test is over, and on pagehide.
        await driver!.execute(`
          setInterval(() => localStorage.setItem("resume", String(Date.now())), 5);
          addEventListener("pagehide", () => localStorage.setItem("hidden", "1"));`);
        expect((await driver!.getCookies()).map((c) => c.name)).toContain('visited');
        expect(await driver!.execute('return window.innerWidth')).toBe(1280);
      },
      { timeoutMs: 30_000 },
    );
    expect(first.status).toBe('passed');
    await session.reset();
    await new Promise((r) => setTimeout(r, 100));
    const second = await session.run(
      async ({ driver }) => {
        expect(driver!.sessionId).toBe(firstId);
        // quiesce (the default) leaves the stopped page on screen: no navigation was waited for.
        expect(await driver!.getUrl()).toBe(page.url);
        expect(await driver!.getCookies()).toEqual([]);
        await driver!.url(page.url);
        const left = await driver!.execute(
          'return [localStorage.getItem("k"), localStorage.getItem("resume"), localStorage.getItem("hidden")]',
        );
        expect(left).toEqual([null, null, null]);
      },
      { timeoutMs: 30_000 },
    );
    expect(second.error).toBeUndefined();
    expect(second.status).toBe('passed');
  });

  it('reset: blank-page also leaves for about:blank', async () => {
    const session = await open('stb-720p-lowmem', { reset: 'blank-page' });
    const first = await session.run(
      async ({ driver }) => {
        await driver!.url(page.url);
        await driver!.execute('localStorage.setItem("k", "v")');
      },
      { timeoutMs: 30_000 },
    );
    expect(first.status).toBe('passed');
    const second = await session.run(
      async ({ driver }) => {
        expect(await driver!.getUrl()).toBe('about:blank');
        await driver!.url(page.url);
        expect(await driver!.execute('return localStorage.getItem("k")')).toBeNull();
      },
      { timeoutMs: 30_000 },
    );
    expect(second.error).toBeUndefined();
    expect(second.status).toBe('passed');
  });

  it('a lost session is an infrastructure error and the next test gets a new session', async () => {
    const session = await open('roku-1080p');
    let lostId = '';
    const res = await session.run(
      async ({ driver }) => {
        lostId = driver!.sessionId;
        // The server loses the session behind the client's back, as when a device reboots.
        await fetch(`${server.url}/session/${lostId}`, { method: 'DELETE' });
        await driver!.getTitle();
      },
      { timeoutMs: 30_000 },
    );
    expect(res.status).toBe('error');
    expect(res.error?.kind).toBe('infrastructure');
    const next = await session.run(
      async ({ driver }) => {
        expect(driver!.sessionId).not.toBe(lostId);
      },
      { timeoutMs: 30_000 },
    );
    expect(next.status).toBe('passed');
  });

  it('a hung test times out, its session is killed and replaced', async () => {
    const session = await open('webos-tv', { sessionReuse: 'fresh' });
    const res = await session.run(
      async ({ driver }) => {
        await driver!.url(page.url);
        await new Promise((r) => setTimeout(r, 5000));
      },
      { timeoutMs: 700 },
    );
    expect(res.status).toBe('timed-out');
    expect(res.artifacts.map((a) => a.name)).toContain('screenshot.png');
    expect(session.current).toBeNull();
    const next = await session.run(async ({ driver }) => void (await driver!.getTitle()), {
      timeoutMs: 30_000,
    });
    expect(next.status).toBe('passed');
    // fresh: the session ends with its test
    expect(session.current).toBeNull();
  });
});
