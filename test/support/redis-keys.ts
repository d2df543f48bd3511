import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { labKeys } from '../../harness/queue/names.ts';
import { removeLabKeys } from '../../harness/queue/remove-lab-keys.ts';
import { REDIS_URL } from './services.ts';

/** The prefix of the keys the devices tests (state store, leases, health, CLI) write outside a lab. */
export const DEVICES_TEST_PREFIX = 'devlab-test-devices:';

/** A connection to the test Redis whose commands fail fast (one retry) when Redis is gone. */
export function newRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key starting with `prefix` (for keys that are not a lab's: those go with `dropPrefix`). */
export async function cleanKeys(redis: Redis, prefix: string = DEVICES_TEST_PREFIX): Promise<void> {
  const keys = await scanKeys(redis, `${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}

/** Every key matching `pattern` (SCAN, so a big Redis is not blocked). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key of a lab's prefix (states, leases, queues, the report stream). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  await removeLabKeys(redis, labKeys(prefix));
}

/** Deletes every key of a lab's prefix on a connection of its own (its lab's connections are closed). */
export async function dropLabKeys(prefix: string): Promise<void> {
  const redis = newRedis();
  try {
    await dropPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/**
 * A test lab's teardown after its control plane is closed: its Redis keys (when Redis is up: `redisUp`)
 * and its DEVLAB_HOME.
 */
export async function removeTestLab(prefix: string, home: string, redisUp: boolean): Promise<void> {
  if (redisUp) await dropLabKeys(prefix);
  rmSync(home, { recursive: true, force: true });
}
