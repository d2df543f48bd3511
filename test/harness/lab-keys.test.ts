import { afterAll, describe, expect, it } from 'vitest';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { RedisAttemptChannel } from '../../harness/queue/attempt-channel.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { type LabKeys, labKeys } from '../../harness/queue/names.ts';
import { PoolQueues } from '../../harness/queue/pool-queues.ts';
import { removeLabKeys } from '../../harness/queue/remove-lab-keys.ts';
import { Semaphore } from '../../harness/queue/semaphore.ts';
import { scanKeys } from '../support/redis-keys.ts';
import { REDIS_URL } from '../support/services.ts';

/**
 * One LabKeys (harness/queue/names.ts): what the lab's parts write to the real Redis lies under its
 * prefix, and removing a lab's keys takes all of it and nothing of another lab.
 */
describe('lab keys', () => {
  const redis = redisConnection(REDIS_URL);
  afterAll(() => redis.disconnect());

  /** A lease, a device state, a cap, a report and a queued attempt, each written by its own part. */
  const populate = async (keys: LabKeys) => {
    const leases = new LeaseManager(redis, { keys });
    const acquired = await leases.acquire('tv-1', 'agent-a/tv-1', 60_000);
    expect(acquired.ok).toBe(true);
    await new DeviceStateStore(redis, { prefix: keys.keyPrefix }).transition('tv-1', 'blocked', 'test', 'qa');
    expect(await new Semaphore(redis).acquire(keys.partnerCap('acme'), 'h', 1, 60_000)).toBe(true);
    const channel = new RedisAttemptChannel(redis, keys);
    await channel.report({
      runId: 'run-1',
      jobId: 'job-1',
      attempt: 1,
      deviceId: 'tv-1',
      agent: 'agent-a',
      status: 'passed',
      startedAt: 1,
      endedAt: 2,
      artifacts: [],
      cases: [],
    });
    const queues = new PoolQueues(redis, keys);
    await queues.enqueue(
      {
        runId: 'run-1',
        jobId: 'job-1',
        testId: 't',
        pool: 'pool-a',
        partner: 'acme',
        attempt: 1,
        timeoutMs: 1000,
        avoidDevices: [],
        limits: { partner: null, run: null },
      },
      1,
      0,
    );
    await queues.close();
  };

  it('names every key under the lab prefix, and the device keys the devices room uses', () => {
    const keys = labKeys('lab-x');
    const named = [
      keys.reportStream,
      keys.deadReportStream,
      keys.partnerCap('acme'),
      keys.runCap('run-1'),
      keys.device('tv'),
      keys.deviceLog('tv'),
      keys.deviceHealth('tv'),
      keys.lease('tv'),
      keys.leaseSeq('tv'),
      keys.relayRequests('agent-a'),
      keys.relayAgent('agent-a'),
    ];
    for (const key of named) expect(key.startsWith(keys.keyPrefix)).toBe(true);
    expect(keys.lease('tv')).toBe('lab-x:lease:tv');
    expect(new DeviceStateStore(redis, { prefix: keys.keyPrefix }).stateKey('tv')).toBe(keys.device('tv'));
  });

  it("removes all of a lab's keys and none of another lab's whose prefix starts the same", async () => {
    const keys = labKeys(`devlab-keys-${process.pid}`);
    const other = labKeys(`devlab-keys-${process.pid}-other`);
    try {
      await populate(keys);
      await populate(other);
      const written = await scanKeys(redis, `${keys.keyPrefix}*`);
      // Each part's key is there (and so under the prefix the removal scans).
      for (const key of [keys.lease('tv-1'), keys.device('tv-1'), keys.partnerCap('acme'), keys.reportStream])
        expect(written).toContain(key);
      expect(written.some((k) => k.includes(':pool-'))).toBe(true);
      const before = (await scanKeys(redis, `${other.keyPrefix}*`)).sort();

      expect(await removeLabKeys(redis, keys)).toBe(written.length);
      expect(await scanKeys(redis, `${keys.keyPrefix}*`)).toEqual([]);
      expect((await scanKeys(redis, `${other.keyPrefix}*`)).sort()).toEqual(before);
    } finally {
      await removeLabKeys(redis, keys);
      await removeLabKeys(redis, other);
    }
  });

  it('takes a prefix with glob characters literally', async () => {
    const keys = labKeys(`devlab-keys-[${process.pid}]`);
    // What the prefix would match as a glob (`[…]` is one of its characters): not this lab's key.
    const lookalike = `devlab-keys-${String(process.pid)[0]}:device:tv`;
    try {
      await redis.set(keys.device('tv'), '1');
      await redis.set(lookalike, '1');
      expect(await removeLabKeys(redis, keys)).toBe(1);
      expect(await redis.exists(keys.device('tv'))).toBe(0);
      expect(await redis.exists(lookalike)).toBe(1);
    } finally {
      await redis.del(keys.device('tv'), lookalike);
    }
  });
});
