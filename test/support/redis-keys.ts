import { rmSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { labKeys } from '../../harness/queue/names.ts';
import { removeLabKeys } from '../../harness/queue/remove-lab-keys.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { REDIS_URL } from './services.ts';

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

/**
 * A test lab's teardown after its control plane is closed: its Redis keys (when Redis is up: `redisUp`)
 * and its DEVLAB_HOME.
 */
export async function removeTestLab(prefix: string, home: string, redisUp: boolean): Promise<void> {
  if (redisUp) {
    const redis = redisConnection(REDIS_URL);
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  rmSync(home, { recursive: true, force: true });
}
