import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeviceRecord } from '../../devices/device.ts';
import { groupPools } from '../planner/pools.ts';
import type { LabKeys } from '../queue/names.ts';
import { checkPools, type PoolMap, poolMapOf, readPoolMap } from '../queue/pool-map.ts';
import type { DeviceWorker } from './device-worker.ts';

export interface PoolWorkersOptions {
  agentId: string;
  /** The agent's inventory copy (the whole lab's: pools span hosts). */
  inventory: readonly DeviceRecord[];
  /** Reads the control plane's published pool map. */
  redis: Redis;
  keys: LabKeys;
  logger: Logger;
  /** A device worker for one of this agent's devices in `pool` (of `poolSize` devices), not started. */
  worker(device: DeviceRecord, pool: string, poolSize: number): DeviceWorker;
}

/**
 * The device workers of an agent, by pool: a pool is served only while its queue is the one the control
 * plane's published pool map gives (see queue/pool-map.ts). Checked at start and each time the map is
 * published again: a pool that drifted is refused (its workers stopped, an error naming both queues and
 * capability hashes); the agent's other pools go on. With no published map (a control plane not started
 * yet, or one that publishes none) every pool is served.
 */
export class PoolWorkers {
  private readonly own: PoolMap;
  private readonly members = new Map<string, DeviceRecord[]>();
  private readonly running = new Map<string, DeviceWorker[]>();
  private readonly refusals = new Map<string, string>();
  /** Checks run one after another, and `stop` waits for the last. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: PoolWorkersOptions) {
    for (const [pool, members] of groupPools(options.inventory))
      if (members.some((d) => d.host === options.agentId)) this.members.set(pool, members);
    this.own = new Map([...poolMapOf(options.inventory)].filter(([pool]) => this.members.has(pool)));
  }

  /** Pools refused now, with why. */
  get refused(): ReadonlyMap<string, string> {
    return this.refusals;
  }

  /** Pools served now. */
  get served(): string[] {
    return [...this.running.keys()];
  }

  /** Compares with the published map and starts or stops pools' workers to match (queued after earlier checks). */
  check(): Promise<void> {
    this.chain = this.chain.then(
      () => this.reconcile(),
      () => this.reconcile(),
    );
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Only waits for the check in flight: its failure already rejected `check()` for whoever called it.
    await this.chain.catch(() => {});
    const workers = [...this.running.values()].flat();
    this.running.clear();
    await Promise.all(workers.map((w) => w.stop()));
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const { logger } = this.options;
    const { map, problems } = await readPoolMap(this.options.redis, this.options.keys);
    for (const problem of problems)
      logger.error(
        { key: this.options.keys.poolMap, pool: problem.pool },
        `the published pool map's entry for ${problem.pool} is not read: ${problem.message}`,
      );
    if (!map)
      logger.info(
        { key: this.options.keys.poolMap },
        'no pool map published by a control plane yet: serving every pool of this inventory, checked again when one is',
      );
    const checks = map
      ? checkPools(this.own, map)
      : [...this.own.keys()].map((pool) => ({ pool, verdict: 'serve' as const }));
    for (const check of checks) {
      const entry = this.own.get(check.pool)!;
      if (check.verdict === 'refuse') {
        if (this.refusals.get(check.pool) !== check.message)
          logger.error({ pool: check.pool, queue: entry.queue }, check.message);
        this.refusals.set(check.pool, check.message);
        await this.stopPool(check.pool);
        continue;
      }
      if (check.verdict === 'unknown') logger.warn({ pool: check.pool, queue: entry.queue }, check.message);
      if (this.refusals.delete(check.pool))
        logger.info(
          { pool: check.pool, queue: entry.queue },
          `pool ${check.pool} matches the control plane's map again: served`,
        );
      await this.startPool(check.pool);
    }
  }

  private async startPool(pool: string): Promise<void> {
    if (this.running.has(pool) || this.stopped) return;
    const members = this.members.get(pool) ?? [];
    const workers = members
      .filter((d) => d.host === this.options.agentId)
      .map((device) => this.options.worker(device, pool, members.length));
    this.running.set(pool, workers);
    for (const worker of workers) await worker.start();
  }

  private async stopPool(pool: string): Promise<void> {
    const workers = this.running.get(pool);
    if (!workers) return;
    this.running.delete(pool);
    await Promise.all(workers.map((w) => w.stop()));
  }
}
