import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseHeartbeat } from '../../devices/lease/heartbeat.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { cleanKeys, DEVICES_TEST_PREFIX, newRedis } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const up = await requireService('Redis', redisUp);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawnHolder(
  prefix: string,
  deviceId: string,
  ttlMs: number,
): Promise<{ child: ChildProcess; token: number; pid: number }> {
  const child = spawn(
    'npx',
    [
      'tsx',
      path.join(HERE, 'fixtures', 'lease-holder.ts'),
      REDIS_URL,
      prefix,
      deviceId,
      'child',
      String(ttlMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.join(HERE, '..', '..') },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lease holder exited early with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      const m = /LEASED (\d+) (\d+)/.exec(chunk.toString());
      if (m) resolve({ child, token: Number(m[1]), pid: Number(m[2]) });
    });
  });
}

describe.skipIf(!up)('leases (Redis)', () => {
  let redis: Redis;
  const prefix = `${DEVICES_TEST_PREFIX}lease:`;

  beforeAll(() => {
    redis = newRedis();
  });
  afterAll(async () => {
    await cleanKeys(redis, prefix);
    redis.disconnect();
  });

  it('acquires, refuses a second holder, renews, releases with increasing fencing tokens', async () => {
    const leases = new LeaseManager(redis, { prefix });
    const a = await leases.acquire('tv', 'agent-a', 5000);
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    const b = await leases.acquire('tv', 'agent-b', 5000);
    expect(b).toEqual({ ok: false, reason: 'held by agent-a' });
    expect(await leases.renew(a.lease, 8000)).toBe(true);
    expect((await leases.holder('tv'))?.ttlMs).toBeGreaterThan(5000);
    expect(await leases.release({ ...a.lease, token: a.lease.token + 100 })).toBe(false);
    expect(await leases.release(a.lease)).toBe(true);
    const c = await leases.acquire('tv', 'agent-b', 5000);
    expect(c.ok && c.lease.token).toBeGreaterThan(a.lease.token);
    expect(await leases.renew(a.lease)).toBe(false);
  });

  it('refuses leases on blocked, quarantined, draining and offline devices', async () => {
    const leases = new LeaseManager(redis, { prefix });
    const states = new DeviceStateStore(redis, { prefix });
    await states.transition('stb', 'blocked', 'lab maintenance', 'cli');
    expect(await leases.acquire('stb', 'agent-a', 1000)).toEqual({ ok: false, reason: 'device is blocked' });
    await states.transition('stb', 'available', 'maintenance done', 'cli');
    expect((await leases.acquire('stb', 'agent-a', 1000)).ok).toBe(true);
  });

  it('a heartbeat keeps a lease past its TTL and reports when it is lost', async () => {
    const leases = new LeaseManager(redis, { prefix });
    const res = await leases.acquire('hb', 'agent-a', 600);
    if (!res.ok) throw new Error(res.reason);
    const hb = new LeaseHeartbeat(leases, res.lease).start();
    await sleep(1500);
    expect((await leases.holder('hb'))?.holder).toBe('agent-a');
    const lost = new Promise<string>((r) => hb.once('lost', r));
    await redis.del(`${prefix}lease:hb`);
    expect(await lost).toContain('was lost');
    expect(hb.signal.aborted).toBe(true);
  });

  it('a holder killed with SIGKILL loses the lease when the TTL runs out', async () => {
    const leases = new LeaseManager(redis, { prefix });
    const { child, token, pid } = await spawnHolder(prefix, 'killed', 1000);
    try {
      // The child's heartbeat holds the lease well past one TTL.
      await sleep(1500);
      expect((await leases.holder('killed'))?.token).toBe(token);
      expect((await leases.acquire('killed', 'parent', 1000)).ok).toBe(false);
    } finally {
      child.removeAllListeners('exit');
      process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }
    // Right after the kill the lease is still held; within TTL plus slack it is free again.
    expect((await leases.acquire('killed', 'parent', 1000)).ok).toBe(false);
    const killedAt = Date.now();
    let res = await leases.acquire('killed', 'parent', 1000);
    while (!res.ok && Date.now() - killedAt < 5000) {
      await sleep(50);
      res = await leases.acquire('killed', 'parent', 1000);
    }
    expect(res.ok).toBe(true);
    if (res.ok) expect(res.lease.token).toBeGreaterThan(token);
  }, 30_000);

  it('two holders racing for one device over many rounds never both hold it', async () => {
    const other = newRedis();
    try {
      const managers = [new LeaseManager(redis, { prefix }), new LeaseManager(other, { prefix })];
      let holders = 0;
      let maxHolders = 0;
      let grants = 0;
      // Each contender races until it has held the lease 75 times (a refused try does not count as a
      // round: while one holds it, the other's tries are refused quickly, and counting those made the
      // number of grants depend on timing). The cap on tries only stops a starved contender.
      const contender = async (i: number) => {
        const leases = managers[i]!;
        let mine = 0;
        for (let tries = 0; mine < 75 && tries < 20_000; tries++) {
          const res = await leases.acquire('race', `agent-${i}`, 2000);
          if (!res.ok) continue;
          mine++;
          grants++;
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          await sleep(Math.random() < 0.5 ? 0 : 1);
          holders--;
          expect(await leases.release(res.lease)).toBe(true);
        }
      };
      await Promise.all([contender(0), contender(1)]);
      expect(maxHolders).toBe(1);
      expect(grants).toBeGreaterThan(50);
    } finally {
      other.disconnect();
    }
  });
});
