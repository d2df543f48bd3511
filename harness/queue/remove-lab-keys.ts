import type { Redis } from 'ioredis';
import type { LabKeys } from './names.ts';

/**
 * Deletes everything a lab keeps in Redis under its prefix (queues, the report stream, device states,
 * leases, health counters, caps: every key `labKeys` names matches its `pattern`). For a lab that owns its prefix alone (the demo, a test lab) and is not
 * running: a live lab's agents would lose their leases and queued work. Returns how many keys went.
 */
export async function removeLabKeys(redis: Redis, keys: LabKeys): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.pattern, 'COUNT', 1000);
    cursor = next;
    if (batch.length) removed += await redis.del(...batch);
  } while (cursor !== '0');
  return removed;
}
