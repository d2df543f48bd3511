import { logConnectionErrors } from '../log/connection-errors.ts';
import { availableParallelism } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeviceRecord } from '../../devices/device.ts';
import type { DriverRegistry } from '../../devices/driver.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { createLogger } from '../log/logger.ts';
import { RedisAttemptChannel } from '../queue/attempt-channel.ts';
import { type LabKeys, labKeys } from '../queue/names.ts';
import { Semaphore } from '../queue/semaphore.ts';
import type { ArtifactSink } from './artifact-sink.ts';
import { DeviceWorker } from './device-worker.ts';
import { LocalSlots } from './local-slots.ts';
import { PoolWorkers } from './pool-workers.ts';

export interface AgentOptions {
  /** This agent's host id: it owns the inventory's devices whose `host` is this id. */
  agentId: string;
  /** The whole lab's inventory: pools span hosts, so pool sizes come from all of it. */
  inventory: readonly DeviceRecord[];
  tests: ReadonlyMap<string, TestDefinition>;
  /**
   * The catalog content hash of each test body this agent would run (suites/catalog/content-hash.ts): a
   * job planned with another hash is refused (an infrastructure error naming both), never run.
   */
  testHashes?: ReadonlyMap<string, string>;
  registry: DriverRegistry;
  artifacts: ArtifactSink;
  appUrl: string;
  /** BullMQ connection (maxRetriesPerRequest: null); the agent opens a subscriber from it. */
  connection: Redis;
  /** The lab's Redis keys (default prefix `devlab`). */
  keys?: LabKeys;
  /** Sessions running a test at once on this host; default: its CPU cores. */
  maxSessions?: number;
  leaseTtlMs?: number;
  /** How long an idle device keeps its lease between tests (default 500 ms). */
  leaseIdleMs?: number;
  lockDurationMs?: number;
  /**
   * A test that is still running after this long is announced as started (live progress); a shorter one
   * is announced by its report alone, which saves a message per test (default 50 ms; 0: at once).
   */
  startNoticeMs?: number;
  onInfraError?(device: DeviceRecord, message: string): void;
  /** Where the agent says what went wrong off a test (connection errors). */
  log?: (line: string) => void;
  /** The agent's structured log (pool map checks); default: pino on stderr. */
  logger?: Logger;
}

/**
 * A lab agent: one queue worker per device it owns, all reporting to the control plane through the
 * report stream; a cancel broadcast aborts the run's attempts within a second.
 */
export class Agent {
  private pools: PoolWorkers | null = null;
  private readonly running = new Map<string, Set<AbortController>>();
  private subscriber: Redis | null = null;
  /** devlab's own commands (leases, caps, reports): auto-pipelined, so one turn's commands are one write. */
  private commands: Redis | null = null;

  private readonly log: (line: string) => void;
  private readonly logger: Logger;

  constructor(private readonly options: AgentOptions) {
    this.log = options.log ?? (() => {});
    this.logger =
      options.logger ?? createLogger(`agent ${options.agentId}`, 'info').child({ agent: options.agentId });
  }

  get ownedDevices(): DeviceRecord[] {
    return this.options.inventory.filter((d) => d.host === this.options.agentId);
  }

  /** This agent's pools refused because the control plane's pool map gives them another queue, with why. */
  get refusedPools(): ReadonlyMap<string, string> {
    return this.pools?.refused ?? new Map();
  }

  /** This agent's pools whose queues it takes jobs from. */
  get servedPools(): string[] {
    return this.pools?.served ?? [];
  }

  async start(): Promise<void> {
    const { connection } = this.options;
    // What an earlier life of this agent left in its artifact spool is sent again from now on.
    await this.options.artifacts.start?.();
    const keys = this.options.keys ?? labKeys();
    this.subscriber = connection.duplicate();
    logConnectionErrors(
      this.subscriber,
      `agent ${this.options.agentId}: Redis subscriber (cancels, pool map)`,
      this.log,
    );
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === keys.poolMapChannel) {
        this.pools
          ?.check()
          .catch((err: unknown) =>
            this.logger.error(
              { key: keys.poolMap, err: (err as Error).message },
              'the published pool map was not checked; the pools stay as they are',
            ),
          );
        return;
      }
      for (const controller of this.running.get(message) ?? [])
        controller.abort(new Error(`run ${message} cancelled`));
    });
    await this.subscriber.subscribe(keys.cancelChannel, keys.poolMapChannel);

    // BullMQ keeps the given connection (it is not written for auto-pipelining); devlab's own commands
    // of the device workers, issued in the same turn (a report and the lease kept with it, or several
    // devices' reports), then share one socket write.
    const commands = connection.duplicate({ enableAutoPipelining: true });
    // Its report command is defined before the connection's first command.
    const channel = new RedisAttemptChannel(commands, keys);
    logConnectionErrors(commands, `agent ${this.options.agentId}: Redis (leases, reports)`, this.log);
    this.commands = commands;
    const leases = new LeaseManager(commands, { keys });
    const semaphore = new Semaphore(commands);
    const slots = new LocalSlots(this.options.maxSessions ?? availableParallelism());
    this.pools = new PoolWorkers({
      agentId: this.options.agentId,
      inventory: this.options.inventory,
      redis: commands,
      keys,
      logger: this.logger,
      worker: (device, pool, poolSize) =>
        new DeviceWorker({
          agentId: this.options.agentId,
          device,
          pool,
          poolSize,
          connection,
          leases,
          semaphore,
          slots,
          keys,
          registry: this.options.registry,
          tests: this.options.tests,
          ...(this.options.testHashes ? { testHashes: this.options.testHashes } : {}),
          artifacts: this.options.artifacts,
          appUrl: this.options.appUrl,
          channel,
          track: (runId, controller) => this.track(runId, controller),
          ...(this.options.onInfraError ? { onInfraError: this.options.onInfraError } : {}),
          log: this.log,
          leaseTtlMs: this.options.leaseTtlMs ?? 15_000,
          leaseIdleMs: this.options.leaseIdleMs ?? 500,
          lockDurationMs: this.options.lockDurationMs ?? 30_000,
          startNoticeMs: this.options.startNoticeMs ?? 50,
        }),
    });
    await this.pools.check();
  }

  async stop(): Promise<void> {
    await this.pools?.stop();
    this.pools = null;
    // After the workers: no test adds an artifact any more; what is not uploaded stays in the spool.
    await this.options.artifacts.close?.();
    // Safe to ignore: a QUIT that fails means the connection is already gone, which is what stop wants.
    await this.subscriber?.quit().catch(() => {});
    this.subscriber = null;
    await this.commands?.quit().catch(() => {});
    this.commands = null;
  }

  private track(runId: string, controller: AbortController): () => void {
    const set = this.running.get(runId) ?? new Set<AbortController>();
    set.add(controller);
    this.running.set(runId, set);
    return () => {
      set.delete(controller);
      if (set.size === 0) this.running.delete(runId);
    };
  }
}
