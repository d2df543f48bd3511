import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { LABEL_AGENT } from '../../devices/docker/labels.ts';
import type { DevlabConfig } from '../../harness/config/config.ts';
import type { ControlPlaneService } from '../../harness/lab/control-plane-service.ts';
import { nextStep } from '../../harness/scheduler/retry-policy.ts';
import type { StoredEvent } from '../../harness/store/events-repo.ts';
import type { AttemptRow } from '../../harness/store/attempts-repo.ts';
import type { JobRow } from '../../harness/store/jobs-repo.ts';
import type { Store } from '../../harness/store/store.ts';
import { type AgentProcess, spawnDevlab } from '../support/agent-process.ts';
import { waitForRun } from '../support/lab-harness.ts';
import { scanKeys } from '../support/redis-keys.ts';
import { labFiles, startServiceLab } from '../support/service-lab.ts';

/** Polls `probe` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
  );
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by its parent) is gone for our purposes.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `needle` (read from /proc; never used with a broad needle). */
export function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Direct children and all their descendants of a process (from /proc/<pid>/stat). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * A Docker engine of the test's own (own socket, data root, exec root and containerd), so that stopping
 * it never disturbs the shared engine other tests use.
 */
export class PrivateDockerd {
  readonly dir: string;
  readonly socket: string;
  private child: ChildProcess | null = null;
  private destroyed = false;

  constructor() {
    // Short: a unix socket path must stay under 108 bytes.
    this.dir = mkdtempSync('/tmp/dlf-');
    this.socket = path.join(this.dir, 'docker.sock');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get docker(): Docker {
    return new Docker({ socketPath: this.socket, timeout: 10_000 });
  }

  /** containerd started by this engine (dockerd runs its own under the exec root). */
  containerdPid(): number | undefined {
    const file = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return alive(pid) ? pid : undefined;
  }

  async ping(): Promise<boolean> {
    try {
      await new Docker({ socketPath: this.socket, timeout: 2000 }).ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Starts the engine and waits until it answers (a restart first stops what the last life left running). */
  async start(timeoutMs = 60_000): Promise<void> {
    // A test body that timed out may still try, after the cleanup ran: never start an engine nobody stops.
    if (this.destroyed) throw new Error('the private Docker engine was destroyed');
    // dockerd takes a containerd whose pid file names a live process for its own; the last life's
    // containerd died with it but may linger as a zombie that nobody reaps here, so drop its pid file.
    const containerdPidFile = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (existsSync(containerdPidFile) && !this.containerdPid()) rmSync(containerdPidFile, { force: true });
    const log = openSync(path.join(this.dir, 'dockerd.log'), 'a');
    const child = spawn(
      'dockerd',
      [
        '--host',
        `unix://${this.socket}`,
        '--data-root',
        path.join(this.dir, 'data'),
        '--exec-root',
        path.join(this.dir, 'exec'),
        '--pidfile',
        path.join(this.dir, 'docker.pid'),
        '--bridge=none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    this.child = child;
    child.unref();
    await until(
      'the private Docker engine to answer',
      async () => {
        if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}:\n${this.log()}`);
        return this.ping();
      },
      timeoutMs,
      100,
    );
  }

  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'dockerd.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  /** Sends a signal to the engine process and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const pid = child.pid;
    killPid(pid, signal);
    await until(`dockerd ${pid} to exit`, () => !alive(pid), timeoutMs, 50);
  }

  /** Removes every container, stops the engine, its containerd and shims (by PID), unmounts and deletes the dirs. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    if (await this.ping()) {
      const docker = this.docker;
      for (const c of await docker.listContainers({ all: true }).catch(() => [])) {
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      }
    }
    const containerd = this.containerdPid();
    await this.kill('SIGTERM').catch(() => this.kill('SIGKILL'));
    // The engine's containerd and container shims name the private exec root on their command line.
    const leftovers = [
      ...(containerd ? [containerd] : []),
      ...pidsMentioning(path.join(this.dir, 'exec', 'containerd', 'containerd.sock')),
    ];
    for (const pid of new Set(leftovers)) killPid(pid, 'SIGKILL');
    await until(
      'the private engine processes to exit',
      () => leftovers.every((p) => !alive(p)),
      10_000,
      50,
    ).catch(() => {});
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${this.dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const mount of mounts) {
      try {
        execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
      } catch {
        // not mounted any more
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Containers on this engine created for an agent (the docker driver labels each with its agent). */
  async agentContainers(agent: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({ all: true, filters: { label: [`${LABEL_AGENT}=${agent}`] } });
  }
}

export { writeSuite } from '../support/service-lab.ts';

export interface FaultLab {
  dir: string;
  env: Record<string, string>;
  config: DevlabConfig;
  inventory: string;
  suites: string;
  server: ControlPlaneService;
  agents: AgentProcess[];
  startAgent(host: string, extraArgs?: string[]): Promise<AgentProcess>;
  close(): Promise<void>;
}

/**
 * The control plane in this process on its own store and Redis prefix, agents as separate `devlab agent`
 * processes (as on other lab hosts), with short leases and job locks so that faults resolve quickly.
 */
export async function startFaultLab(options: {
  dir: string;
  name: string;
  inventoryYaml: string;
  suites: string;
  env?: Record<string, string>;
}): Promise<FaultLab> {
  const files = labFiles({
    name: `fault-${options.name}`,
    dir: options.dir,
    inventoryYaml: options.inventoryYaml,
    ...(options.env ? { env: options.env } : {}),
  });
  const { env, inventory } = files;
  const { config, server } = await startServiceLab(files, { suites: [options.suites] });
  const agents: AgentProcess[] = [];
  let closed = false;
  return {
    dir: options.dir,
    env,
    config,
    inventory,
    suites: options.suites,
    server,
    agents,
    async startAgent(host, extraArgs = []) {
      if (closed) throw new Error('the fault lab is closed');
      const agent = await spawnDevlab(
        'agent',
        [
          '--host',
          host,
          '--inventory',
          inventory,
          '--suites',
          options.suites,
          '--server',
          server.url,
          ...extraArgs,
        ],
        env,
        // Registered before it is ready: a lab closed meanwhile still stops it.
        { ready: 'devlab agent ', startTimeoutMs: 90_000, track: (starting) => agents.push(starting) },
      );
      // A test that timed out may have closed the lab while this agent was starting.
      if (closed) await agent.stop();
      return agent;
    },
    async close() {
      closed = true;
      for (const agent of agents) await agent.stop();
      await server.close();
      // Queues, states, health counters: nothing of the lab stays in the shared Redis.
      await files.dropKeys();
    },
  };
}

/** The first stored event of the run that matches (polls the store, so an event already past is found too). */
export function waitForEvent(
  store: Store,
  runId: string,
  what: string,
  match: (e: StoredEvent) => boolean,
  timeoutMs = 60_000,
): Promise<StoredEvent> {
  return until(what, () => store.events.since(runId, 0, 100_000).find(match), timeoutMs, 50);
}

/** Submits the run of the tests tagged `tag` and waits until the attempt of `testId` started; returns where. */
export async function submitAndWaitForStart(
  lab: FaultLab,
  tag: string,
  testId: string,
): Promise<{ runId: string; job: JobRow; deviceId: string }> {
  const { store, controlPlane } = lab.server;
  const { run } = await controlPlane.submit({ query: `tag:${tag}`, options: { ordering: 'fifo' } });
  const job = store.jobs.listByRun(run.id).find((j) => j.testId === testId);
  if (!job) throw new Error(`run ${run.id} has no job for ${testId}`);
  const started = await waitForEvent(
    store,
    run.id,
    `${testId} to start`,
    (e) => e.type === 'job.started' && e.payload['jobId'] === job.id,
  );
  return { runId: run.id, job, deviceId: String(started.payload['deviceId']) };
}

export interface JobResults {
  job: JobRow;
  attempts: AttemptRow[];
}

/**
 * Exactly one final result per job: every job is done with a verdict, it was finished once (one
 * `job.finished` event), its attempts are numbered 1..n without a gap, the job counts them, and the verdict
 * is what the retry policy makes of them. Infrastructure errors are never test failures.
 */
export function expectOneResultPerJob(store: Store, runId: string, infraRetries = 2): JobResults[] {
  const jobs = store.jobs.listByRun(runId);
  expect(jobs.length).toBeGreaterThan(0);
  const finished = store.events.since(runId).filter((e) => e.type === 'job.finished');
  const out: JobResults[] = [];
  for (const job of jobs) {
    expect(job.state, job.testId).toBe('done');
    expect(job.verdict, job.testId).not.toBeNull();
    expect(
      finished.filter((e) => e.payload['jobId'] === job.id),
      job.testId,
    ).toHaveLength(1);
    const attempts = store.attempts.listByJob(job.id);
    expect(
      attempts.map((a) => a.attempt),
      job.testId,
    ).toEqual(attempts.map((_, i) => i + 1));
    expect(job.attempts, job.testId).toBe(attempts.length);
    expect(job.infraAttempts, job.testId).toBe(attempts.filter((a) => a.status === 'error').length);
    const step = nextStep(attempts, { testRetries: job.maxRetries, infraRetries });
    expect(step, job.testId).toEqual({ kind: 'final', verdict: job.verdict });
    for (const a of attempts) {
      if (a.status === 'error') expect(a.errorKind, `${job.testId} attempt ${a.attempt}`).toBe('infra');
    }
    out.push({ job, attempts });
  }
  return out;
}

/** Lease keys (and caps semaphores) left in Redis under the lab's prefix. */
export async function leftoverLeases(redis: Redis, keyPrefix: string): Promise<string[]> {
  return [...(await scanKeys(redis, `${keyPrefix}lease:*`)), ...(await scanKeys(redis, `${keyPrefix}cap:*`))];
}

/**
 * No lease (and no cap slot) is held any more. An agent reports an attempt before it releases the device,
 * so the release may land just after the run finished: wait for it, for less than it would take a lease
 * kept alive by a stuck worker's heartbeat to show (that one never goes away).
 */
export async function expectNoLeaseLeft(redis: Redis, keyPrefix: string, timeoutMs = 10_000): Promise<void> {
  let left: string[] = [];
  await until(
    'no lease left in Redis',
    async () => {
      left = await leftoverLeases(redis, keyPrefix);
      return left.length === 0;
    },
    timeoutMs,
  ).catch(() => {});
  expect(left).toEqual([]);
}

/** What the lab looks like now, for the message of a failed wait: jobs, attempts, events, agents' output. */
export async function diagnose(lab: FaultLab, runId: string): Promise<string> {
  const { store } = lab.server;
  const lines: string[] = [];
  for (const job of store.jobs.listByRun(runId)) {
    lines.push(`job ${job.testId} ${job.state} ${job.verdict ?? '-'} on ${job.deviceId ?? '-'}`);
    for (const a of store.attempts.listByJob(job.id))
      lines.push(`  #${a.attempt} ${a.status} ${a.deviceId} ${a.errorKind ?? ''} ${a.message ?? ''}`);
  }
  for (const e of store.events.since(runId, 0, 100_000).slice(-40))
    lines.push(`event ${new Date(e.at).toISOString()} ${e.type} ${JSON.stringify(e.payload)}`);
  const redis = lab.server.redis;
  for (const device of lab.server.devices.inventory) {
    const state = await redis.hgetall(`${lab.config.redisPrefix}:device:${device.id}`).catch(() => ({}));
    const lease = await redis.hgetall(`${lab.config.redisPrefix}:lease:${device.id}`).catch(() => ({}));
    lines.push(`device ${device.id} ${JSON.stringify(state)} lease ${JSON.stringify(lease)}`);
  }
  for (const agent of lab.agents)
    lines.push(`agent output:\n${agent.output().split('\n').slice(-40).join('\n')}`);
  return lines.join('\n');
}

/** `waitForRun` that explains the lab's state when the run does not finish. */
export async function waitForRunOrExplain(lab: FaultLab, runId: string, timeoutMs: number): Promise<string> {
  try {
    return await waitForRun(lab.server.store, runId, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnose(lab, runId)}`);
  }
}

/**
 * After the server a test ran against was killed and restarted: the run ends with one result per job; the
 * attempt it died under is an infrastructure error on `victim`, started before the kill, and retried; no
 * job or attempt is a test failure; every attempt started after the restart passed. Returns the run's
 * status and the results (with a story of the run for further assertion messages).
 */
export async function expectRecoveredRun(
  lab: FaultLab,
  o: {
    runId: string;
    jobId: string;
    victim: string;
    interrupted: AttemptRow;
    killedAt: number;
    restartedAt: number;
  },
): Promise<{ status: string; results: JobResults[]; story: string }> {
  const { store } = lab.server;
  const status = await waitForRunOrExplain(lab, o.runId, 60_000);
  const results = expectOneResultPerJob(store, o.runId);
  const story = `killed at ${o.killedAt}, restarted at ${o.restartedAt}\n${describeResults(results)}`;
  if (process.env['DEVLAB_FAULT_VERBOSE']) console.log(story);

  // The attempt the server died under: an infrastructure error on the victim, retried, never a test failure.
  expect(o.interrupted).toMatchObject({ status: 'error', errorKind: 'infra', deviceId: o.victim });
  expect(o.interrupted.startedAt).toBeLessThan(o.killedAt);
  const retry = store.events
    .since(o.runId)
    .find((e) => e.type === 'job.retry' && e.payload['jobId'] === o.jobId);
  expect(retry?.payload).toMatchObject({ attempt: 2, reason: 'infrastructure' });
  for (const { job, attempts } of results) {
    // A job whose infrastructure retries all fell into the outage ends as an error, never as a failure.
    expect(['passed', 'error'], story).toContain(job.verdict);
    for (const a of attempts) {
      expect(['passed', 'error'], story).toContain(a.status);
      // Once the server answers again, the agent's sessions work again: no stale broken state.
      if (a.startedAt > o.restartedAt) expect(a.status, story).toBe('passed');
    }
  }
  expect(['passed', 'error']).toContain(status);
  return { status, results, story };
}

/** No lease left, no container of `agent` left on `engine`, and the agent process lived through it all. */
export async function expectEngineClean(
  lab: FaultLab,
  engine: PrivateDockerd,
  agentId: string,
  agent: AgentProcess,
): Promise<void> {
  await expectNoLeaseLeft(lab.server.redis, `${lab.config.redisPrefix}:`);
  await until(
    'no container of the agent left on the private engine',
    async () => (await engine.agentContainers(agentId)).length === 0,
    15_000,
  );
  expect(agent.child.exitCode).toBeNull();
  expect(agent.child.signalCode).toBeNull();
}

/** One line per attempt, for assertion messages. */
export function describeResults(results: JobResults[]): string {
  return results
    .map(
      ({ job, attempts }) =>
        `${job.testId} → ${job.verdict}: ${attempts
          .map(
            (a) =>
              `#${a.attempt} ${a.status} on ${a.deviceId} at ${a.startedAt}${a.message ? ` (${a.message.split('\n')[0]})` : ''}`,
          )
          .join('; ')}`,
    )
    .join('\n');
}

/** A process's command line, arguments separated by spaces ('' when it is gone). */
export function processCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}
