import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remote } from 'webdriverio';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import type { SessionHandles } from '../../devices/device.ts';
import { runBody } from '../../devices/run-body.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type ReferenceApp, startReferenceApp } from '../../suites/reference-app/server.ts';
import { chromiumUp, redisUp, requireService } from '../support/services.ts';
import { appiumTvYaml } from './appium-tv.ts';
import {
  alive,
  descendants,
  type FaultLab,
  expectNoLeaseLeft,
  startFaultLab,
  until,
  submitAndWaitForStart,
  writeSuite,
  expectRecoveredRun,
} from './fault-lab.ts';

const AGENT = 'fault-appium';

/** Two emulated TVs of one pool (same model, firmware and capabilities) on the private Appium server. */
const tv = (id: string, server: string) => appiumTvYaml({ id, host: AGENT, server, model: 'FAULT-TV' });

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const meta = (id) => ({ id, title: id, tags: ['appium-fault'], component: 'faults', owner: 'qa', timeoutMs: 45000,
  requires: { drivers: ['appium'] } });
async function open(driver, url) {
  await driver.url(url);
  await driver.waitUntil(async () => (await driver.$('body').getAttribute('data-ready')) === 'true', { timeout: 15000 });
}
const short = (id) => defineTest(meta(id), async ({ driver, appUrl }) => {
  await open(driver, appUrl + '#/home');
  if (!(await driver.getTitle()).includes('Devlab')) throw new Error('not the reference app');
});
export default [
  // Long enough for the server to be killed under it: it browses the search screen for 10 s.
  defineTest(meta('appium.long'), async ({ driver, appUrl }) => {
    await open(driver, appUrl + '#/search');
    const until = Date.now() + 10000;
    while (Date.now() < until) {
      await driver.getTitle();
      await new Promise((r) => setTimeout(r, 200));
    }
  }),
  short('appium.a'),
  short('appium.b'),
  short('appium.c'),
  short('appium.d'),
];
`;

interface AppiumSessionInfo {
  id: string;
}

async function appiumSessions(url: string): Promise<AppiumSessionInfo[]> {
  const res = await fetch(new URL('/appium/sessions', url), { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /appium/sessions answered ${res.status}`);
  return ((await res.json()) as { value: AppiumSessionInfo[] }).value;
}

async function currentUrl(server: string, session: string): Promise<string> {
  const res = await fetch(new URL(`/session/${session}/url`, server), { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { value?: unknown }).value as string;
}

describe('a WebDriver server that dies with a request in flight', () => {
  it('is an infrastructure error of the attempt, not a failure of the test', async () => {
    // A WebDriver endpoint that creates the session, then drops the connection of every later request:
    // what a test sees when its Appium server is killed mid-command (undici: UND_ERR_SOCKET).
    let cut = false;
    const endpoint = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/session') {
        res.end(JSON.stringify({ value: { sessionId: 'fault', capabilities: { browserName: 'chrome' } } }));
      } else if (cut) req.socket.destroy();
      else res.end(JSON.stringify({ value: null }));
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const driver = await remote({
        hostname: '127.0.0.1',
        port: (endpoint.address() as AddressInfo).port,
        protocol: 'http',
        logLevel: 'silent',
        connectionRetryCount: 0,
        capabilities: {
          browserName: 'chrome',
          'wdio:enforceWebDriverClassic': true,
        } as WebdriverIO.Capabilities,
      });
      cut = true;
      const bodies: Record<string, (handles: SessionHandles) => Promise<void>> = {
        command: async ({ driver }) => {
          await driver!.getTitle();
        },
        waitUntil: async ({ driver }) => {
          await driver!.waitUntil(async () => (await driver!.getTitle()) === 'ready', { timeout: 500 });
        },
      };
      for (const [name, body] of Object.entries(bodies)) {
        const outcome = await runBody(body, { driver }, { timeoutMs: 10_000 });
        expect(outcome, name).toMatchObject({ status: 'error', error: { kind: 'infrastructure' } });
        expect(outcome.error?.message, name).toContain('UND_ERR_SOCKET');
      }
    } finally {
      endpoint.closeAllConnections();
      await new Promise((resolve) => endpoint.close(resolve));
    }
  });
});

describe('Appium server killed -9 mid-run and restarted on the same port (a private Appium 3)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fault-appium-'));
  let appium: AppiumServer;
  let app: ReferenceApp;
  let lab: FaultLab | undefined;
  let cleanedUp = false;

  beforeAll(async () => {
    if (!up) return;
    const port = await freePort();
    appium = new AppiumServer({
      host: '127.0.0.1',
      port,
      appiumHome: PROJECT_ROOT,
      logFile: path.join(dir, 'appium.log'),
      // GET /appium/sessions: which sessions the server holds.
      args: ['--allow-insecure', '*:session_discovery'],
    });
    [app] = await Promise.all([startReferenceApp(), appium.start()]);
  });
  afterAll(async () => {
    cleanedUp = true;
    await lab?.close();
    await appium?.stop();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!up)(
    'the killed attempt is an infrastructure error and is retried; one result per job; no lease, session or browser left',
    async () => {
      lab = await startFaultLab({
        dir,
        name: 'appium',
        inventoryYaml: `devices:${tv('fault-tv-a', appium.url)}${tv('fault-tv-b', appium.url)}\n`,
        suites: writeSuite(dir, 'appium', SUITE),
        env: { DEVLAB_HEALTH_INTERVAL_MS: '500' },
      });
      const { server } = lab;
      const agent = await lab.startAgent(AGENT, ['--app-url', app.url]);
      const {
        runId,
        job: long,
        deviceId: victim,
      } = await submitAndWaitForStart(lab, 'appium-fault', 'appium.long');
      // The long test's body runs: its session is on the search screen.
      await until(
        'the long test to browse the search screen',
        async () => {
          for (const s of await appiumSessions(appium.url))
            if (String(await currentUrl(appium.url, s.id).catch(() => '')).includes('#/search')) return true;
          return false;
        },
        45_000,
        200,
      );
      const killedPid = appium.pid!;
      // chromedriver and Chromium of the sessions the killed server had open.
      const killedTree = descendants(killedPid);
      expect(killedTree.length).toBeGreaterThan(0);
      const killedAt = Date.now();
      process.kill(killedPid, 'SIGKILL');
      await until('the Appium server to die', () => !alive(killedPid), 10_000, 50);

      const interrupted = await until(
        'the interrupted attempt to be reported',
        () => server.store.attempts.listByJob(long.id).find((a) => a.attempt === 1),
        30_000,
      );
      await appium.start();
      // A body that timed out must not leave a server running after the cleanup.
      if (cleanedUp) await appium.stop();
      const restartedAt = Date.now();
      const restartedPid = appium.pid!;
      expect(restartedPid).not.toBe(killedPid);

      await expectRecoveredRun(lab, { runId, jobId: long.id, victim, interrupted, killedAt, restartedAt });

      // Nothing left behind: no lease; no chromedriver or Chromium of the killed server; on the restarted
      // server at most the one reused session per device while the agent lives, none once it stopped.
      await expectNoLeaseLeft(server.redis, `${lab.config.redisPrefix}:`);
      await until('the killed server’s chromedrivers and browsers to be gone', () =>
        killedTree.every((pid) => !alive(pid)),
      );
      expect((await appiumSessions(appium.url)).length).toBeLessThanOrEqual(2);
      expect(agent.child.exitCode).toBeNull();
      expect(agent.child.signalCode).toBeNull();
      await agent.stop();
      expect(await appiumSessions(appium.url)).toEqual([]);
      await until('the restarted server’s chromedrivers to end with their sessions', () =>
        descendants(restartedPid).every((pid) => !alive(pid)),
      );
    },
    120_000,
  );
});
