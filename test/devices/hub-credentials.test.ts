import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppiumDriver } from '../../devices/appium/appium-driver.ts';
import { AppiumServer, appiumStatus, fetchAppiumStatus } from '../../devices/appium/appium-server.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { appiumHealth } from '../../devices/health/appium-check.ts';
import { healthCheck } from '../../devices/health/checks.ts';
import { HEALTH_ACTOR, HealthMonitor } from '../../devices/health/health-monitor.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { type BasicAuthHub, startBasicAuthHub } from '../support/basic-auth-hub.ts';
import { redisDump } from '../support/leak-scan.ts';
import { referenceAppiumDevice } from './appium-lab.ts';
import { cleanKeys, DEVICES_TEST_PREFIX, newRedis } from '../support/redis-keys.ts';
import { chromiumUp, redisUp, requireService } from '../support/services.ts';

const USER = 'devlab';
const KEY = 'SECRET-HUB-KEY-123';
const WRONG = 'WRONG-HUB-KEY-456';
const BASIC = Buffer.from(`${USER}:${KEY}`).toString('base64');
const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

const ready = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
const prefix = `${DEVICES_TEST_PREFIX}hub-credentials:`;

/**
 * A hub URL with credentials (`http://user:KEY@host:port`): Node's fetch refuses such URLs, so a device
 * behind one never passed its health check. The credentials now travel as a Basic header, to a real
 * Appium behind a hub that checks them on every request.
 */
describe.skipIf(!ready)('an Appium hub whose URL carries credentials', () => {
  let redis: Redis;
  let appium: AppiumServer;
  let hub: BasicAuthHub;
  let openStatusHub: BasicAuthHub;
  let deadPort: number;

  const device = (id: string, server: string): DeviceRecord => ({
    ...referenceAppiumDevice('tv-4k-hdr', { server, sessionReuse: 'fresh' }),
    id,
  });

  beforeAll(async () => {
    redis = newRedis();
    // Its own Appium on a free port: other files stop and start the shared test port.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'devlab-test-hub-'));
    appium = await new AppiumServer({
      host: '127.0.0.1',
      port: await freePort(),
      appiumHome: process.env['APPIUM_HOME'] ?? PROJECT,
      logFile: path.join(dir, 'appium.log'),
    }).start();
    hub = await startBasicAuthHub(appium.url, { user: USER, key: KEY });
    openStatusHub = await startBasicAuthHub(appium.url, { user: USER, key: KEY }, { openStatus: true });
    deadPort = await freePort();
  });
  afterAll(async () => {
    await hub?.close();
    await openStatusHub?.close();
    await appium?.stop();
    await cleanKeys(redis, prefix);
    redis.disconnect();
  });

  const withKey = (port: number, key = KEY) => `http://${USER}:${key}@127.0.0.1:${port}`;

  it('the full health check passes: /status and a session probe, every request with the Basic header', async () => {
    hub.requests.length = 0;
    const result = await appiumHealth(device('hub-tv-1', withKey(hub.port)));
    expect(result.message).toMatch(/^Appium \S+ ready, session probe \d+ ms$/);
    expect(result.ok).toBe(true);
    // /status, new session, navigate, delete session: all of them carried the credentials.
    expect(
      hub.requests.map((r) => `${r.method} ${r.path.replace(/\/session\/[^/]+/, '/session/:id')}`),
    ).toEqual(
      expect.arrayContaining([
        'GET /status',
        'POST /session',
        'POST /session/:id/url',
        'DELETE /session/:id',
      ]),
    );
    expect(hub.requests.filter((r) => !r.authorized)).toEqual([]);

    const quick = await appiumHealth(device('hub-tv-1', withKey(hub.port)), { statusOnly: true });
    expect(quick.ok).toBe(true);
    expect(await appiumStatus(withKey(hub.port))).toMatchObject({ ready: true });
    // Without the credentials the hub refuses: the check really needed them.
    expect(await appiumStatus(hub.url)).toBeNull();
  }, 60_000);

  it('tests run in sessions through the hub (the agent path)', async () => {
    const session = await new AppiumDriver().openSession(device('hub-tv-1', withKey(hub.port)));
    try {
      const res = await session.run(
        async ({ driver }) => {
          await driver!.url('about:blank');
          expect(await driver!.getUrl()).toBe('about:blank');
        },
        { timeoutMs: 30_000 },
      );
      expect(res.error).toBeUndefined();
      expect(res.status).toBe('passed');
    } finally {
      await session.close();
    }
  }, 60_000);

  it('wrong credentials fail the check with the hub answer, and the key shows nowhere', async () => {
    const wrong = await appiumHealth(device('hub-tv-1', withKey(hub.port, WRONG)), { statusOnly: true });
    expect(wrong.ok).toBe(false);
    expect(wrong.message).toBe(
      `Appium /status on http://***:***@127.0.0.1:${hub.port}/ answered HTTP 401 Unauthorized`,
    );
    // A hub whose /status is open refuses the session: the probe fails, its message masked.
    const probe = await appiumHealth(device('hub-tv-1', withKey(openStatusHub.port, WRONG)));
    expect(probe.ok).toBe(false);
    expect(probe.message).toContain('session probe error');
    expect(probe.message).toContain(`http://***:***@127.0.0.1:${openStatusHub.port}/`);
    expect(probe.message).not.toContain(WRONG);
    // Nothing answers: the reason says so, with the URL masked.
    await expect(fetchAppiumStatus(withKey(deadPort), 1000)).rejects.toThrow(
      `Appium /status on http://***:***@127.0.0.1:${deadPort}/ did not answer: ECONNREFUSED`,
    );
  }, 60_000);

  it('the health monitor passes such a device, and quarantines a failing one with a masked reason everywhere in Redis', async () => {
    const states = new DeviceStateStore(redis, { prefix });
    const monitor = new HealthMonitor(redis, states, healthCheck({ appiumStatusOnly: true }), {
      threshold: 2,
    });
    const good = device('hub-tv-good', withKey(hub.port));
    const dead = device('hub-tv-dead', withKey(deadPort));
    const wrong = device('hub-tv-wrong', withKey(hub.port, WRONG));
    for (let round = 0; round < 2; round++) await monitor.checkAll([good, dead, wrong]);

    expect((await states.get(good.id)).state).toBe('available');
    const deadStatus = await states.get(dead.id);
    expect(deadStatus).toMatchObject({ state: 'quarantined', by: HEALTH_ACTOR });
    expect(deadStatus.reason).toBe(
      `health: Appium /status on http://***:***@127.0.0.1:${deadPort}/ did not answer: ECONNREFUSED (2 consecutive failures)`,
    );
    expect((await states.get(wrong.id)).reason).toContain('answered HTTP 401');
    expect((await states.history(dead.id))[0]!.reason).toBe(deadStatus.reason);

    const dump = await redisDump(redis, prefix);
    expect(dump).toContain('hub-tv-dead:health');
    expect(dump).toContain('http://***:***@127.0.0.1');
    for (const secret of [KEY, WRONG, BASIC]) expect(dump).not.toContain(secret);
  }, 60_000);

  it('a reason written with the key before it was masked is masked when read', async () => {
    const states = new DeviceStateStore(redis, { prefix });
    await redis.hset(states.stateKey('hub-tv-legacy'), {
      state: 'quarantined',
      reason: `health: Appium /status on ${withKey(deadPort)} did not answer`,
      by: HEALTH_ACTOR,
      since: Date.now(),
    });
    const status = await states.get('hub-tv-legacy');
    expect(status.reason).toBe(
      `health: Appium /status on http://***:***@127.0.0.1:${deadPort} did not answer`,
    );
    // A transition given a reason with the key stores it masked, in the state and in its log.
    await states.transition('hub-tv-legacy', 'available', `manual: hub ${withKey(hub.port)} fixed`, 'test');
    const raw = JSON.stringify([
      await redis.hgetall(states.stateKey('hub-tv-legacy')),
      await redis.lrange(states.logKey('hub-tv-legacy'), 0, -1),
    ]);
    expect(raw).toContain(`hub http://***:***@127.0.0.1:${hub.port} fixed`);
    expect(raw).not.toContain(KEY);
  });
});
