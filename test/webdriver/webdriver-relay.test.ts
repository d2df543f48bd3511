import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remote } from 'webdriverio';
import YAML from 'yaml';
import { freePort } from '../../devices/appium/free-port.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { loadConfig } from '../../harness/config/config.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { type AgentProcess, spawnAgent } from '../support/agent-process.ts';
import { until } from '../support/hooks-lab.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { chromiumUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { referenceTv, startTvParts, type TvParts } from './tv-parts.ts';

const TV = 'tv-4k-hdr';
const AGENT = 'agent-relay';
const TITLE = 'Devlab Reference Streaming';
const CAPS = { platformName: 'auroraos', 'devlab:selector': `id:${TV}` };

interface RunResults {
  run: { status: string };
  jobs: { verdict: string | null; message: string | null; artifacts: { name: string }[] }[];
}

/** What the agent's Appium server itself answers for its session `id` (its HTTP status). */
async function onAppium(url: string, id: string): Promise<number> {
  const res = await fetch(new URL(`/session/${id}/url`, url), { signal: AbortSignal.timeout(5000) });
  await res.text();
  return res.status;
}

/**
 * The WebDriver relay on the real lab parts: the control plane's inventory names an Appium URL for the TV
 * that nothing answers on (as an agent's loopback seen from another host), and only the agent, a separate
 * `devlab agent` process, knows the real one: a real Appium 3 with Debian's Chromium as the emulated TV.
 * Commands go control plane → Redis → agent → Appium and back.
 */
describe('the WebDriver relay through the device’s agent', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-wd-relay-'));
  const prefix = `devlab-wd-relay-${process.pid}`;
  const keys = labKeys(prefix);
  const redis = redisConnection(REDIS_URL);
  const leases = new LeaseManager(redis, { prefix: keys.keyPrefix });
  let tv: TvParts;
  let server: ControlPlaneService;
  let agent: AgentProcess | null = null;
  let agentInventory: string;

  const client = () =>
    remote({
      hostname: '127.0.0.1',
      port: Number(new URL(server.url).port),
      path: '/wd/hub',
      logLevel: 'silent',
      connectionRetryCount: 0,
      capabilities: CAPS as WebdriverIO.Capabilities,
    });
  const results = async (runId: string) =>
    (await (await fetch(`${server.url}/api/runs/${runId}/results`)).json()) as RunResults;
  const env = () => ({
    DEVLAB_HOME: home,
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: prefix,
    DEVLAB_LOG_LEVEL: 'warn',
  });

  beforeAll(async () => {
    if (!up) return;
    tv = await startTvParts(home);
    // Nothing listens there: the control plane could not drive the TV itself.
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    const write = (name: string, server: string) => {
      const file = path.join(home, name);
      writeFileSync(file, YAML.stringify({ devices: [{ ...referenceTv(TV, server), host: AGENT }] }));
      return file;
    };
    const config = loadConfig({ env: { ...process.env, ...env() } });
    server = await startControlPlaneService(config, {
      port: 0,
      auth: false,
      inventoryFile: write('control-plane-inventory.yaml', unreachable),
    });
    agentInventory = write('agent-inventory.yaml', tv.appium.url);
    agent = await spawnAgent(
      ['--host', AGENT, '--inventory', agentInventory, '--server', server.url, '--app-url', tv.app.url],
      env(),
    );
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    await tv?.close();
    redis.disconnect();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'drives the TV whose Appium URL only its agent knows, and ends the session on the agent’s Appium',
    async () => {
      const browser = await client();
      const runId = String(browser.capabilities['devlab:runId' as keyof typeof browser.capabilities]);
      const live = server.webdriver.live.find((s) => s.id === browser.sessionId)!;
      try {
        // The session is on the agent's Appium server, which the control plane's inventory does not name.
        expect(await onAppium(tv.appium.url, live.appiumSessionId)).toBe(200);
        await browser.url(tv.app.url);
        expect(await browser.getTitle()).toBe(TITLE);
        // A W3C error of Appium's own comes back as Appium answered it, through the relay.
        const missing = await fetch(`${server.url}/wd/hub/session/${browser.sessionId}/element`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ using: 'css selector', value: '#no-such-element' }),
        });
        expect(missing.status).toBe(404);
        expect(((await missing.json()) as { value: { error: string } }).value.error).toBe('no such element');
      } finally {
        // Ended by the client in any case: a session left open would hold the TV for the next test.
        await browser.deleteSession();
      }

      const { run, jobs } = await results(runId);
      expect(run.status).toBe('passed');
      // The final capture came through the relay too.
      expect(jobs[0]!.artifacts.map((a) => a.name)).toEqual(
        expect.arrayContaining(['commands.jsonl', 'screenshot.png', 'page-source.html']),
      );
      await until(
        'the agent closed the Appium session',
        async () => (await onAppium(tv.appium.url, live.appiumSessionId)) === 404,
      );
      expect(await redis.hget(keys.deviceHealth(TV), 'sessionDrops')).toBe('0');
      expect(await leases.holder(TV)).toBeNull();
    },
    120_000,
  );

  it.skipIf(!up)(
    'answers a W3C error once the agent is killed mid-session, and ends the session as device lost',
    async () => {
      const browser = await client();
      const runId = String(browser.capabilities['devlab:runId' as keyof typeof browser.capabilities]);
      await browser.url(tv.app.url);
      expect(await browser.getTitle()).toBe(TITLE);

      const killed = agent!;
      const exited = new Promise((resolve) => killed.child.once('exit', resolve));
      killed.kill9();
      await exited;
      agent = null;

      const res = await fetch(`${server.url}/wd/hub/session/${browser.sessionId}/title`);
      expect(res.status).toBe(500);
      const { value } = (await res.json()) as { value: { error: string; message: string } };
      expect(value.error).toBe('unknown error');
      expect(value.message).toMatch(new RegExp(`^agent ${AGENT} is gone`));

      await until('the session ended', () => server.webdriver.live.length === 0);
      const { run, jobs } = await results(runId);
      expect(run.status).toBe('error');
      expect(jobs[0]).toMatchObject({ verdict: 'error' });
      expect(jobs[0]!.message).toMatch(new RegExp(`^device lost: agent ${AGENT} is gone`));
      // The drop counts in the device's health (one: not yet a quarantine); the device is free again.
      await until(
        'the drop was counted',
        async () => (await redis.hget(keys.deviceHealth(TV), 'sessionDrops')) === '1',
      );
      expect((await server.devices.withStates()).find((d) => d.id === TV)?.state).toBe('available');
      expect(await leases.holder(TV)).toBeNull();
      // A later command is told the session ended, and how.
      const late = await fetch(`${server.url}/wd/hub/session/${browser.sessionId}/title`);
      expect(((await late.json()) as { value: { message: string } }).value.message).toBe(
        `session ${browser.sessionId} has ended (device lost)`,
      );
    },
    120_000,
  );
});
