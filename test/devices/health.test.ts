import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppiumServer } from '../../devices/appium/appium-server.ts';
import { DockerDriver } from '../../devices/docker/docker-driver.ts';
import { healthCheck } from '../../devices/health/checks.ts';
import { HEALTH_ACTOR, HealthMonitor } from '../../devices/health/health-monitor.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { referenceAppiumDevice, testAppiumServer } from './appium-lab.ts';
import { cleanKeys, DEVICES_TEST_PREFIX, newRedis } from '../support/redis-keys.ts';
import { chromiumUp, DOCKER_SOCKET, dockerUp, redisUp, requireService } from '../support/services.ts';

const ready =
  (await requireService('Redis', redisUp)) &&
  (await requireService('Docker engine', dockerUp)) &&
  (await requireService('Chromium', chromiumUp));
const prefix = `${DEVICES_TEST_PREFIX}health:`;

describe.skipIf(!ready)('health checks and quarantine', () => {
  let redis: Redis;
  let server: AppiumServer;
  let states: DeviceStateStore;

  beforeAll(async () => {
    redis = newRedis();
    states = new DeviceStateStore(redis, { prefix });
    server = await testAppiumServer().start();
  });
  afterAll(async () => {
    await server?.stop();
    await cleanKeys(redis, prefix);
    redis.disconnect();
  });

  it('stopping the Appium server quarantines its devices with the reason; restarting brings them back', async () => {
    const devices = [referenceAppiumDevice('tv-4k-hdr'), referenceAppiumDevice('console-4k')];
    const monitor = new HealthMonitor(redis, states, healthCheck({ appiumStatusOnly: true }), {
      threshold: 2,
    });
    for (const o of await monitor.checkAll(devices)) expect(o.result.ok).toBe(true);

    await server.stop();
    const first = await monitor.checkAll(devices);
    expect(first.map((o) => [o.state, o.consecutiveFailures])).toEqual([
      ['available', 1],
      ['available', 1],
    ]);
    const second = await monitor.checkAll(devices);
    for (const [i, o] of second.entries()) {
      expect(o.state).toBe('quarantined');
      const status = await states.get(devices[i]!.id);
      expect(status).toMatchObject({ state: 'quarantined', by: HEALTH_ACTOR });
      expect(status.reason).toMatch(
        /Appium \/status on http:\/\/127\.0\.0\.1:4790 did not answer: ECONNREFUSED \(2 consecutive/,
      );
    }

    await server.start();
    // The periodic re-check (here: one round of it) brings them back.
    monitor.start(devices, 200);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await states.get('console-4k')).state !== 'available') {
      await new Promise((r) => setTimeout(r, 100));
    }
    await monitor.stop();
    for (const d of devices) {
      const status = await states.get(d.id);
      expect(status.state).toBe('available');
      expect(status.reason).toContain('health re-check passed');
      expect((await states.history(d.id)).map((h) => h.to)).toEqual(['available', 'quarantined']);
    }
    for (const d of devices) await monitor.forget(d.id);
  }, 60_000);

  it('never lifts a manual block and probes a real session when asked', async () => {
    const device = referenceAppiumDevice('tizen-tv');
    await states.transition(device.id, 'blocked', 'panel cracked', 'cli:test');
    const monitor = new HealthMonitor(redis, states, healthCheck(), { threshold: 1 });
    const outcome = await monitor.checkOnce(device);
    expect(outcome.result.ok).toBe(true);
    expect(outcome.result.message).toMatch(/session probe \d+ ms/);
    expect((await states.get(device.id)).state).toBe('blocked');
    await monitor.forget(device.id);
  });

  it('checks the Docker engine and image, and the browser launch', async () => {
    const check = healthCheck({ docker: new DockerDriver({ imageSpecs: REFERENCE_IMAGE_SPECS }) });
    const inventory = loadInventory();
    const stb = inventory.find((d) => d.id === 'stb-ref-r1')!;
    const web = inventory.find((d) => d.id === 'web-desktop')!;
    const okDocker = await check({ ...stb, settings: { ...stb.settings, socket: DOCKER_SOCKET } });
    expect(okDocker.ok).toBe(true);
    const badSocket = await check({
      ...stb,
      settings: { ...stb.settings, socket: '/nonexistent/docker.sock' },
    });
    expect(badSocket.ok).toBe(false);
    expect(badSocket.message).toContain('did not answer');
    const noImage = await check({
      ...stb,
      settings: { image: 'devlab/does-not-exist:0', socket: DOCKER_SOCKET },
    });
    expect(noImage).toMatchObject({
      ok: false,
      message: expect.stringContaining('no build spec or registry'),
    });
    expect((await check(web)).ok).toBe(true);
    const noChromium = await check({
      ...web,
      settings: { ...web.settings, executablePath: '/nonexistent/chromium' },
    });
    expect(noChromium.ok).toBe(false);
  });
});
