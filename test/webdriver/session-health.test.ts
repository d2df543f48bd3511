import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_ACTOR, HealthMonitor } from '../../devices/health/health-monitor.ts';
import { SESSION_DROPS_ACTOR, SessionDrops } from '../../devices/health/session-drops.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { Store } from '../../harness/store/store.ts';
import { SessionHealth } from '../../harness/webdriver/session-health.ts';
import { type SessionOutcome, SessionStore } from '../../harness/webdriver/session-store.ts';
import { dropPrefix, newRedis } from '../support/redis-keys.ts';
import { redisUp, requireService } from '../support/services.ts';

const ready = await requireService('Redis', redisUp);
const TV = 'tv-4k-hdr';

/**
 * The device-health view of WebDriver sessions, on a real Redis (the device's state, transition log and
 * health hash) and a real SQLite store: sessions that lose their device quarantine it; sessions that end
 * any other way do not count against it; and none of them ever reaches the failure model's history.
 */
describe.skipIf(!ready)('WebDriver sessions in the device-health view', () => {
  const keys = labKeys(`devlab-wd-health-${process.pid}`);
  let redis: Redis;
  let states: DeviceStateStore;
  const silent = pino({ level: 'silent' });

  beforeAll(() => {
    redis = newRedis();
    states = new DeviceStateStore(redis, { prefix: keys.keyPrefix });
  });
  afterAll(async () => {
    await dropPrefix(redis, keys.queuePrefix);
    redis.disconnect();
  });

  const fresh = async (deviceId: string) => {
    await states.forget(deviceId);
    await redis.del(keys.deviceHealth(deviceId));
  };
  const ended = (health: SessionHealth, deviceId: string, outcome: SessionOutcome, n: number) =>
    health.ended(
      { deviceId, runId: `run-${n}`, jobId: `job-${n}`, session: `s-${n}` },
      outcome,
      `${outcome}: session ${n}`,
    );

  it('quarantines a device after three sessions in a row lost it; other endings start the count again', async () => {
    const device = 'wd-health-a';
    await fresh(device);
    const drops = new SessionDrops(redis, states);
    const health = new SessionHealth(drops, silent);
    let n = 0;
    await ended(health, device, 'device lost', ++n);
    await ended(health, device, 'device lost', ++n);
    expect(await drops.count(device)).toBe(2);
    // Each of these shows the device holds sessions: none counts against it, and the count starts again.
    for (const outcome of ['completed', 'aborted by client', 'idle timeout'] as const) {
      await ended(health, device, outcome, ++n);
      expect([outcome, await drops.count(device)]).toEqual([outcome, 0]);
      expect((await states.get(device)).state).toBe('available');
    }
    await ended(health, device, 'device lost', ++n);
    await ended(health, device, 'device lost', ++n);
    expect((await states.get(device)).state).toBe('available');
    await ended(health, device, 'device lost', ++n);
    const status = await states.get(device);
    expect(status).toMatchObject({ state: 'quarantined', by: SESSION_DROPS_ACTOR });
    expect(status.reason).toBe(
      `webdriver: 3 sessions in a row lost the device (last: device lost: session ${n}); \`devlab devices unblock ${device}\` returns it to service`,
    );
    expect(await redis.hgetall(keys.deviceHealth(device))).toMatchObject({
      sessionDrops: '3',
      lastSessionDropMessage: `device lost: session ${n}`,
    });

    // An Appium server that answers its /status says nothing of whether sessions hold: the health
    // monitor's passing re-check lifts only its own quarantines, not this one.
    const monitor = new HealthMonitor(redis, states, async (d) => ({
      deviceId: d.id,
      ok: true,
      message: 'Appium /status answered',
      durationMs: 1,
    }));
    await monitor.checkOnce({ ...loadInventory().find((d) => d.id === TV)!, id: device });
    expect(await states.get(device)).toMatchObject({ state: 'quarantined', by: SESSION_DROPS_ACTOR });
    expect(SESSION_DROPS_ACTOR).not.toBe(HEALTH_ACTOR);
    // A person returns it (`devlab devices unblock`).
    await states.transition(device, 'available', 'unblocked', 'cli:qa');
    expect((await states.get(device)).state).toBe('available');
  });

  it('leaves a blocked device blocked, and counts nothing the control plane’s own stop ends', async () => {
    const device = 'wd-health-b';
    await fresh(device);
    const drops = new SessionDrops(redis, states, { threshold: 1 });
    const health = new SessionHealth(drops, silent);
    await states.transition(device, 'blocked', 'bench maintenance', 'cli:qa');
    await ended(health, device, 'device lost', 1);
    expect(await drops.count(device)).toBe(1);
    expect(await states.get(device)).toMatchObject({ state: 'blocked', reason: 'bench maintenance' });

    await states.transition(device, 'available', 'unblocked', 'cli:qa');
    health.stopCounting();
    await ended(health, device, 'device lost', 2);
    await ended(health, device, 'completed', 3);
    expect(await drops.count(device)).toBe(1);
    expect((await states.get(device)).state).toBe('available');
  });

  it('never feeds a session, lost device or not, to the failure model’s history', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devlab-wd-health-'));
    const store = Store.open(path.join(dir, 'devlab.db'));
    try {
      const sessions = new SessionStore(store);
      const device = loadInventory().find((d) => d.id === TV)!;
      const open = (runId: string) =>
        sessions.open({
          runId,
          jobId: `${runId}-job`,
          device,
          requestedAt: 1_000,
          startedAt: 2_000,
          request: runRequestSchema.parse({ select: `id:${TV}`, build: 'b1', partner: 'acme' }),
        });
      open('r-lost');
      open('r-open');
      // An open session's run is not among the open runs whose done jobs the query fields read.
      expect(store.history.openRunIds()).toEqual([]);
      sessions.end({
        runId: 'r-lost',
        jobId: 'r-lost-job',
        deviceId: TV,
        outcome: 'device lost',
        message: 'device lost: agent agent-a is gone',
        startedAt: 2_000,
        endedAt: 3_000,
      });
      expect(store.jobs.get('r-lost-job')?.verdict).toBe('error');
      // Every read the history service, the training and the report make: nothing of the session.
      expect(store.history.job('r-lost-job')).toBeUndefined();
      expect([...store.history.jobsFinishedAfter(0)]).toEqual([]);
      expect(store.history.runsFinishedAfter(0)).toEqual([]);
      expect(store.history.extent({ sinceMs: 0, maxRows: 1000 }).rows).toBe(0);
      expect([...store.history.finishedRuns({ sinceMs: 0, maxRows: 1000 }, 0)]).toEqual([]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
