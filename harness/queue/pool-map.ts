import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { DeviceRecord } from '../../devices/device.ts';
import { capabilitiesHash, groupPools } from '../planner/pools.ts';
import { firstIssue } from '../protocol/zod-issue.ts';
import { type LabKeys, poolQueueName } from './names.ts';

/**
 * The control plane's pool → queue map. Control plane and agents each derive pools (and so queue names)
 * from their own copy of the inventory; when the copies drift, an agent would listen on a queue nobody
 * fills and the pool's jobs would wait forever without an error. The control plane publishes its map (a
 * hash under `LabKeys.poolMap`, one field per pool, and a note on `LabKeys.poolMapChannel`); an agent
 * compares its own pools with it at start and whenever it is published again (see `checkPools`).
 */
export const poolMapEntrySchema = z
  .object({
    queue: z.string().min(1),
    capabilitiesHash: z.string(),
    devices: z.array(z.string()),
  })
  .strict();
export type PoolMapEntry = z.infer<typeof poolMapEntrySchema>;
export type PoolMap = Map<string, PoolMapEntry>;

/** The pools of an inventory, as the map publishes them. */
export function poolMapOf(inventory: readonly DeviceRecord[]): PoolMap {
  const map: PoolMap = new Map();
  for (const [pool, members] of groupPools(inventory))
    map.set(pool, {
      queue: poolQueueName(pool),
      capabilitiesHash: capabilitiesHash(members[0]!),
      devices: members.map((d) => d.id),
    });
  return map;
}

/** Replaces the published map with `map` (one transaction) and tells the agents. */
export async function publishPoolMap(redis: Redis, keys: LabKeys, map: PoolMap): Promise<void> {
  const fields = [...map].flatMap(([pool, entry]) => [pool, JSON.stringify(entry)]);
  const tx = redis.multi().del(keys.poolMap);
  if (fields.length > 0) tx.hset(keys.poolMap, ...fields);
  await tx.publish(keys.poolMapChannel, String(map.size)).exec();
}

/** A field of the published map that is not a pool map entry: named, never dropped silently. */
export interface PoolMapProblem {
  pool: string;
  message: string;
}

/** The published map (null when no control plane published one), and the fields that did not parse. */
export async function readPoolMap(
  redis: Redis,
  keys: LabKeys,
): Promise<{ map: PoolMap | null; problems: PoolMapProblem[] }> {
  const raw = await redis.hgetall(keys.poolMap);
  const pools = Object.keys(raw);
  if (pools.length === 0) return { map: null, problems: [] };
  const map: PoolMap = new Map();
  const problems: PoolMapProblem[] = [];
  for (const pool of pools) {
    let value: unknown;
    try {
      value = JSON.parse(raw[pool]!);
    } catch (err) {
      problems.push({ pool, message: `not JSON: ${(err as Error).message}` });
      continue;
    }
    const parsed = poolMapEntrySchema.safeParse(value);
    if (parsed.success) map.set(pool, parsed.data);
    else problems.push({ pool, message: firstIssue(parsed.error) });
  }
  return { map, problems };
}

/** One of the agent's pools, compared with the published map. */
export type PoolCheck =
  | { pool: string; verdict: 'serve' }
  /** The control plane does not know its devices: no job comes for it, serving it is harmless. */
  | { pool: string; verdict: 'unknown'; message: string }
  /** The control plane puts its devices on another queue: serving it would take nothing, or the wrong jobs. */
  | { pool: string; verdict: 'refuse'; message: string };

/**
 * Compares the agent's pools (from its own inventory copy) with the published map: a pool whose queue
 * is the published one is served; one whose devices the control plane puts in a pool with another queue
 * is refused, the error naming both queues and capability hashes.
 */
export function checkPools(ownPools: PoolMap, published: PoolMap): PoolCheck[] {
  const publishedOf = new Map<string, [string, PoolMapEntry]>();
  for (const [pool, entry] of published) for (const id of entry.devices) publishedOf.set(id, [pool, entry]);
  return [...ownPools].map(([pool, own]): PoolCheck => {
    const theirs = published.get(pool);
    if (theirs && theirs.queue === own.queue) return { pool, verdict: 'serve' };
    const counterparts = new Map(
      own.devices.flatMap((id) => {
        const found = publishedOf.get(id);
        return found && found[0] !== pool ? [found] : [];
      }),
    );
    if (counterparts.size === 0 && !theirs)
      return {
        pool,
        verdict: 'unknown',
        message: `pool ${pool} (queue ${own.queue}) is not in the control plane's pool map, nor are its devices (${own.devices.join(', ')}): no job will come for it`,
      };
    const theirsText = [
      ...(theirs ? [`queue ${theirs.queue} (capabilities ${theirs.capabilitiesHash}) for it`] : []),
      ...[...counterparts].map(
        ([p, e]) => `pool ${p}: queue ${e.queue} (capabilities ${e.capabilitiesHash}) for its devices`,
      ),
    ].join('; ');
    return {
      pool,
      verdict: 'refuse',
      message: `pool ${pool} refused: this agent's inventory gives it queue ${own.queue} (capabilities ${own.capabilitiesHash}), the control plane's gives ${theirsText}. The inventories differ: give this agent the control plane's inventory`,
    };
  });
}
