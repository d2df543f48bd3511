import type { Redis } from 'ioredis';
import { labKeys } from '../../harness/queue/names.ts';
import { removeLabKeys } from '../../harness/queue/remove-lab-keys.ts';

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
