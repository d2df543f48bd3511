import { logConnectionErrors } from '../log/connection-errors.ts';
import { availableParallelism } from 'node:os';
import type { Redis } from 'ioredis';
import type { DeviceRecord } from '../../devices/device.ts';
import type { DriverRegistry } from '../../devices/driver.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { groupPools } from '../planner/pools.ts';
import type { AttemptReport } from '../protocol/job.ts';
import type { ReportedMark } from '../queue/execution-marks.ts';
import { type LabKeys, labKeys } from '../queue/names.ts';
import { prepareReportConnection, sendReport } from '../queue/report-stream.ts';
import { Semaphore } from '../queue/semaphore.ts';
import type { ArtifactSink } from './artifact-sink.ts';
import { DeviceWorker } from './device-worker.ts';
import { LocalSlots } from './local-slots.ts';

export interface AgentOptions {
  /** This agent's host id: it owns the inventory's devices whose `host` is this id. */
  agentId: string;
  /** The whole lab's inventory: pools span hosts, so pool sizes come from all of it. */
  inventory: readonly DeviceRecord[];
  tests: ReadonlyMap<string, TestDefinition>;
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
}

/**
 * A lab agent: one queue worker per device it owns, all reporting to the control plane through the
 * report stream; a cancel broadcast aborts the run's attempts within a second.
 */
export class Agent {
  private readonly workers: DeviceWorker[] = [];
  private readonly running = new Map<string, Set<AbortController>>();
  private subscriber: Redis | null = null;
  /** devlab's own commands (leases, caps, reports): auto-pipelined, so one turn's commands are one write. */
  private commands: Redis | null = null;
  private keys: LabKeys | null = null;

  private readonly log: (line: string) => void;

  constructor(private readonly options: AgentOptions) {
    this.log = options.log ?? (() => {});
  }

  get ownedDevices(): DeviceRecord[] {
    return this.options.inventory.filter((d) => d.host === this.options.agentId);
  }

  async start(): Promise<void> {
    const { connection } = this.options;
    // What an earlier life of this agent left in its artifact spool is sent again from now on.
    await this.options.artifacts.start?.();
    const keys = this.options.keys ?? labKeys();
    this.keys = keys;
    this.subscriber = connection.duplicate();
    logConnectionErrors(
      this.subscriber,
      `agent ${this.options.agentId}: Redis subscriber (cancels)`,
      this.log,
    );
    this.subscriber.on('message', (_channel: string, runId: string) => {
      for (const controller of this.running.get(runId) ?? [])
        controller.abort(new Error(`run ${runId} cancelled`));
    });
    await this.subscriber.subscribe(keys.cancelChannel);

    // BullMQ keeps the given connection (it is not written for auto-pipelining); devlab's own commands
    // of the device workers, issued in the same turn (a report and the lease kept with it, or several
    // devices' reports), then share one socket write.
    const commands = connection.duplicate({ enableAutoPipelining: true });
    prepareReportConnection(commands);
    logConnectionErrors(commands, `agent ${this.options.agentId}: Redis (leases, reports)`, this.log);
    this.commands = commands;
    const leases = new LeaseManager(commands, { prefix: keys.keyPrefix });
    const semaphore = new Semaphore(commands);
    const slots = new LocalSlots(this.options.maxSessions ?? availableParallelism());
    const pools = groupPools(this.options.inventory);
    for (const [pool, members] of pools) {
      for (const device of members.filter((d) => d.host === this.options.agentId)) {
        const worker = new DeviceWorker({
          agentId: this.options.agentId,
          device,
          pool,
          poolSize: members.length,
          connection,
          leases,
          semaphore,
          slots,
          keys,
          registry: this.options.registry,
          tests: this.options.tests,
          artifacts: this.options.artifacts,
          appUrl: this.options.appUrl,
          report: (message, mark) => this.report(message, mark),
          track: (runId, controller) => this.track(runId, controller),
          ...(this.options.onInfraError ? { onInfraError: this.options.onInfraError } : {}),
          log: this.log,
          leaseTtlMs: this.options.leaseTtlMs ?? 15_000,
          leaseIdleMs: this.options.leaseIdleMs ?? 500,
          lockDurationMs: this.options.lockDurationMs ?? 30_000,
          startNoticeMs: this.options.startNoticeMs ?? 50,
        });
        await worker.start();
        this.workers.push(worker);
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    this.workers.length = 0;
    // After the workers: no test adds an artifact any more; what is not uploaded stays in the spool.
    await this.options.artifacts.close?.();
    await this.subscriber?.quit().catch(() => {});
    this.subscriber = null;
    await this.commands?.quit().catch(() => {});
    this.commands = null;
    this.keys = null;
  }

  private async report(
    message: AttemptReport | Record<string, unknown>,
    mark?: { jobKey: string; value: ReportedMark },
  ): Promise<void> {
    const { keys, commands } = this;
    if (!keys || !commands) throw new Error('agent is not started');
    if ((message as { type?: string }).type === 'started') {
      await commands.publish(keys.startedChannel, JSON.stringify(message));
      return;
    }
    // A report sent twice (a lost reply) is stored once: the control plane writes per job and attempt.
    // With its queue job marked as reported, a second delivery of that job is not run again.
    await sendReport(commands, keys, message, mark);
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
