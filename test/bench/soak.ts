/**
 * `npm run soak`: a bounded soak of the real harness. A control plane (in this process, so its memory is
 * this process's memory) and several `devlab agent` processes run thousands of cheap jobs on browser
 * devices (Playwright + Debian's Chromium, one context per test), over several runs and partners, while
 * agents are restarted at seeded random points (SIGKILL some, SIGTERM others). It then checks that every
 * job has exactly one final verdict, that no lease, queued attempt or unfinished run is left, and that no
 * agent process (or a browser it started) outlived it; it prints a table, writes JSON and exits 1 when a
 * check fails. Everything it creates (Redis keys of its own prefix, the temp dir, child processes) is
 * removed at the end, also on failure or Ctrl-C.
 *
 *   npm run soak -- [--jobs 5000] [--agents 4] [--devices-per-agent 2] [--restarts N] [--seed 1]
 *                   [--signal mixed|SIGKILL|SIGTERM]
 *                   [--per-run 1000] [--timeout-s 3600] [--out .devlab/bench/soak.json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Queue } from 'bullmq';
import { dropPrefix, scanKeys } from '../support/redis-keys.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import type { PriorityClass } from '../../harness/protocol/run-request.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { attemptJobId, labKeys, poolQueueName } from '../../harness/queue/names.ts';
import { reportStreamCounts } from '../../harness/queue/report-stream.ts';
import { rng } from './makespan.ts';

// ---------------------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    agents: { type: 'string', default: '4' },
    'devices-per-agent': { type: 'string', default: '2' },
    restarts: { type: 'string' },
    seed: { type: 'string', default: '1' },
    signal: { type: 'string', default: 'mixed' },
    'per-run': { type: 'string', default: '1000' },
    'timeout-s': { type: 'string', default: '3600' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, '.devlab', 'bench', 'soak.json') },
  },
  strict: true,
});

function intArg(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`soak: --${name} must be an integer >= ${min} (got ${value})\n`);
    process.exit(2);
  }
  return n;
}

const JOBS = intArg('jobs', args.jobs, 1);
const AGENTS = intArg('agents', args.agents, 1);
const DEVICES_PER_AGENT = intArg('devices-per-agent', args['devices-per-agent'], 1);
const RESTARTS = intArg('restarts', args.restarts ?? String(Math.max(3, Math.round(JOBS / 500))), 0);
const SEED = intArg('seed', args.seed, 0);
const PER_RUN = intArg('per-run', args['per-run'], 1);
const TIMEOUT_MS = intArg('timeout-s', args['timeout-s'], 10) * 1000;
const OUT = path.resolve(args.out);
const SIGNAL = args.signal ?? 'mixed';
if (!['mixed', 'SIGKILL', 'SIGTERM'].includes(SIGNAL)) {
  process.stderr.write(`soak: --signal is mixed, SIGKILL or SIGTERM (got ${SIGNAL})\n`);
  process.exit(2);
}
const RUNS = Math.ceil(JOBS / PER_RUN);
const LEASE_TTL_MS = 3000;
const JOB_LOCK_MS = 5000;
/** How long processes of a killed agent may take to notice and exit before they count as left behind. */
const ORPHAN_GRACE_MS = 15_000;
const PARTNERS = ['soak-a', 'soak-b', 'soak-c'];
const PRIORITIES: PriorityClass[] = ['nightly', 'release', 'ci-pr'];

// ---------------------------------------------------------------------------------------------------------
// The lab: one pool of identical browser devices spread over the agent hosts, and a generated suite

/** Test i: most pass; 1 in 100 always fails (retries 1: two attempts), 1 in 100 fails once then passes. */
type Kind = 'pass' | 'fail' | 'flaky';
const kindOf = (i: number): Kind => (i % 100 === 37 ? 'fail' : i % 100 === 71 ? 'flaky' : 'pass');
const EXPECTED: Record<Kind, string> = { pass: 'passed', fail: 'failed', flaky: 'flaky' };

const hostOf = (a: number) => `soak-agent-${a}`;

function inventoryYaml(): string {
  const lines = ['version: 1', 'devices:'];
  for (let a = 0; a < AGENTS; a++) {
    for (let d = 0; d < DEVICES_PER_AGENT; d++) {
      lines.push(
        `  - id: soak-web-${a}-${d}`,
        `    name: soak web ${a}.${d}`,
        '    driver: browser',
        '    model: soak-chrome',
        '    platform: web',
        '    os: Debian Chromium',
        "    firmware: 'host'",
        `    host: ${hostOf(a)}`,
        '    capabilities: { codecs: [h264], hdr: [], resolution: 1080p, memoryMb: 4096, input: [pointer] }',
        '    settings: { viewport: { width: 320, height: 240 } }',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function suiteSource(flakyDir: string): string {
  return `// Generated by test/bench/soak.ts: ${JOBS} near no-op browser tests in groups of ${PER_RUN} (one run each).
import { existsSync, writeFileSync } from 'node:fs';
import { defineTest } from ${JSON.stringify(`${PROJECT_ROOT}/suites/define-test.ts`)};

const FLAKY_DIR = ${JSON.stringify(flakyDir)};
const kindOf = ${kindOf.toString()};

export default Array.from({ length: ${JOBS} }, (_, i) => {
  const kind = kindOf(i);
  const id = 'soak.t' + i;
  return defineTest(
    {
      id,
      title: 'soak ' + i + ' (' + kind + ')',
      tags: ['soak', 'soak-g' + Math.floor(i / ${PER_RUN}), 'soak-' + kind],
      component: 'soak-' + (i % 7),
      owner: 'soak',
      timeoutMs: 30000,
      retries: kind === 'pass' ? 0 : 1,
      requires: { drivers: ['browser'] },
    },
    async ({ page }) => {
      if (!page) throw new Error('no page');
      if (kind === 'fail') throw new Error('soak: designed failure');
      if (kind === 'flaky') {
        const marker = FLAKY_DIR + '/' + id;
        if (!existsSync(marker)) {
          writeFileSync(marker, '1');
          throw new Error('soak: designed flaky failure');
        }
      }
    },
  );
});
`;
}

// ---------------------------------------------------------------------------------------------------------
// Processes: agents as separate process groups, and whatever they start (Chromium runs in its own group)

interface ProcInfo {
  pid: number;
  ppid: number;
  start: string;
  comm: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // fields[0] = state, [1] = ppid, [19] = starttime
    if (fields[0] === 'Z') return null;
    return { pid, ppid: Number(fields[1]), start: fields[19] ?? '', comm };
  } catch {
    return null;
  }
}

function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** Descendants of `root` (not itself), by parent links in /proc. */
function descendantsOf(root: number, procs: ProcInfo[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const stack = [root];
  while (stack.length) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child.pid);
    }
  }
  return out;
}

const stillAlive = (p: ProcInfo) => readProc(p.pid)?.start === p.start;

const CLOCK_TICKS = 100;
/** utime + stime of the process itself, in seconds. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

class AgentProc {
  readonly child: ChildProcess;
  /** Every process seen under this agent (pid + start time, so a reused pid is not mistaken for it). */
  readonly seen = new Map<number, ProcInfo>();
  private out = '';
  private intended = false;
  /** It exited without being told to. */
  crashed = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly host: string,
    readonly generation: number,
    argv: string[],
    env: Record<string, string>,
    onUnexpectedExit: (agent: AgentProc, code: number | null, signal: string | null) => void,
  ) {
    this.child = spawn(process.execPath, [`${PROJECT_ROOT}/harness/cli/devlab.js`, 'agent', ...argv], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.out += d.toString();
      if (this.out.length > 64_000) this.out = this.out.slice(-32_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        if (!this.intended) {
          this.crashed = true;
          onUnexpectedExit(this, code, signal);
        }
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return this.out;
  }

  /** Resolves once the agent prints its banner (it takes jobs from then on). */
  async ready(timeoutMs = 120_000): Promise<void> {
    const started = Date.now();
    while (!this.out.includes(`devlab agent ${this.host}:`)) {
      if (!this.alive)
        throw new Error(`agent ${this.host} exited before it was ready:\n${this.out.slice(-4000)}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`agent ${this.host} not ready within ${timeoutMs} ms:\n${this.out.slice(-4000)}`);
      await sleep(50);
    }
  }

  track(procs: ProcInfo[]): void {
    if (!this.alive) return;
    const self = procs.find((p) => p.pid === this.pid);
    if (self) this.seen.set(self.pid, self);
    for (const p of descendantsOf(this.pid, procs)) this.seen.set(p.pid, p);
  }

  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }

  kill9(): Promise<unknown> {
    this.intended = true;
    this.signalGroup('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (the agent finishes its running attempts and closes its sessions); SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<{ forced: boolean; ms: number }> {
    this.intended = true;
    const t0 = Date.now();
    if (!this.alive) return { forced: false, ms: 0 };
    this.signalGroup('SIGTERM');
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.signalGroup('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
    return { forced, ms: Date.now() - t0 };
  }

  /** Processes it started that are still running after it is gone (checked after an exit). */
  leftovers(): ProcInfo[] {
    return [...this.seen.values()].filter((p) => p.pid !== this.pid && stillAlive(p));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Mem {
  rssMiB: number;
  heapUsedMiB: number;
}
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
function memNow(collect: boolean): Mem {
  if (collect) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed) };
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

interface RestartRecord {
  index: number;
  host: string;
  signal: 'SIGKILL' | 'SIGTERM';
  atJobs: number;
  atS: number;
  stopMs: number;
  forced: boolean;
  downMs: number;
  startMs: number;
  leftoverProcesses: string[];
  error?: string;
  outputTail?: string;
}

// ---------------------------------------------------------------------------------------------------------
// The soak

const prefix = `devlab-soak-${process.pid}-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(path.join(tmpdir(), 'devlab-soak-'));
const flakyDir = path.join(dir, 'flaky');
const suitesDir = path.join(dir, 'suites');
const inventoryFile = path.join(dir, 'inventory.yaml');
const env: Record<string, string> = {
  DEVLAB_HOME: path.join(dir, 'home'),
  DEVLAB_REDIS_URL: process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  DEVLAB_REDIS_PREFIX: prefix,
  DEVLAB_LEASE_TTL_MS: String(LEASE_TTL_MS),
  DEVLAB_JOB_LOCK_MS: String(JOB_LOCK_MS),
  DEVLAB_MAX_SESSIONS: String(DEVICES_PER_AGENT),
  DEVLAB_LOG_LEVEL: 'warn',
};
const config = loadConfig({ env: { ...process.env, ...env } });
const redis = redisConnection(config.redisUrl);

let server: ControlPlaneService | null = null;
const slots: (AgentProc | null)[] = Array.from({ length: AGENTS }, () => null);
const retired: AgentProc[] = [];
const unexpectedExits: string[] = [];
let generation = 0;
let stopping = false;

function agentArgv(host: string, serverUrl: string): string[] {
  return [
    '--host',
    host,
    '--inventory',
    inventoryFile,
    '--suites',
    suitesDir,
    '--server',
    serverUrl,
    '--app-url',
    'http://127.0.0.1:9/',
  ];
}

async function startAgent(index: number): Promise<AgentProc> {
  if (stopping || !server) throw new Error('the soak is stopping');
  const host = hostOf(index);
  const agent = new AgentProc(host, ++generation, agentArgv(host, server!.url), env, (a, code, signal) => {
    if (!stopping)
      unexpectedExits.push(
        `${a.host}#${a.generation} exited on its own (code ${code}, signal ${signal}): ${a.output.slice(-800)}`,
      );
  });
  slots[index] = agent;
  try {
    await agent.ready();
  } finally {
    // Started while the cleanup ran (Ctrl-C during a restart): stopped here, the cleanup may have missed it.
    if (stopping) await agent.stop(5000);
  }
  if (stopping) throw new Error('the soak is stopping');
  agent.track(allProcs());
  return agent;
}

let cleanedUp = false;
async function cleanup(): Promise<{
  leftover: string[];
  stops: { host: string; ms: number; forced: boolean }[];
}> {
  if (cleanedUp) return { leftover: [], stops: [] };
  cleanedUp = true;
  stopping = true;
  const live = slots.filter((a): a is AgentProc => a !== null);
  const stops = await Promise.all(
    live.map(async (a) => ({ host: a.host, ...(await a.stop(interrupted ? 5000 : 20_000)) })),
  );
  const all = [...new Set([...retired, ...live, ...slots.filter((a): a is AgentProc => a !== null)])];
  const deadline = Date.now() + (interrupted ? 2000 : ORPHAN_GRACE_MS);
  while (all.some((a) => a.leftovers().length > 0) && Date.now() < deadline) await sleep(250);
  // Anything an agent started that outlived it (a browser in its own process group): by pid, after a look.
  const leftover: string[] = [];
  for (const agent of all) {
    for (const p of agent.leftovers()) {
      leftover.push(`${p.comm}[${p.pid}] of ${agent.host}#${agent.generation}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  if (server) await server.close().catch(() => {});
  server = null;
  try {
    await dropPrefix(redis, prefix);
  } catch (err) {
    process.stderr.write(`soak: could not remove the Redis keys of ${prefix}: ${(err as Error).message}\n`);
  }
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
  return { leftover, stops };
}

// Ctrl-C: clean up, then exit. The signal usually arrives twice (from the terminal and relayed by tsx),
// so the second is ignored; a third one exits at once. A parent gone meanwhile must not crash the
// cleanup with EPIPE on our output.
let interrupted = false;
let signals = 0;
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (++signals >= 3) process.exit(130);
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nsoak: ${signal}: stopping agents and removing what the soak created...\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  mkdirSync(suitesDir, { recursive: true });
  mkdirSync(flakyDir, { recursive: true });
  writeFileSync(path.join(suitesDir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(suitesDir, 'soak.test-def.ts'), suiteSource(flakyDir));
  writeFileSync(inventoryFile, inventoryYaml());

  process.stderr.write(
    `soak: ${JOBS} jobs in ${RUNS} run(s), ${AGENTS} agents × ${DEVICES_PER_AGENT} browser devices, ${RESTARTS} restarts, seed ${SEED}, prefix ${prefix}\n`,
  );
  const setupStarted = Date.now();
  server = await startControlPlaneService(config, {
    port: 0,
    suites: [suitesDir],
    inventoryFile,
    log: (line) => process.stderr.write(`[server] ${line}\n`),
  });
  if (server.catalog.catalog.entries.length !== JOBS)
    throw new Error(`catalog has ${server.catalog.catalog.entries.length} tests, expected ${JOBS}`);
  await Promise.all(slots.map((_, i) => startAgent(i)));
  process.stderr.write(`soak: control plane and ${AGENTS} agents up in ${Date.now() - setupStarted} ms\n`);

  // Restart plan: stratified over 5–90 % of the jobs, so restarts are spread over the whole soak.
  const random = rng(SEED);
  // The same draws whatever --signal is, so a seed gives the same points and agents with every signal.
  const plan = Array.from({ length: RESTARTS }, (_, r) => {
    const atJobs = Math.floor(JOBS * (0.05 + (0.85 * (r + random())) / Math.max(1, RESTARTS)));
    const agent = Math.floor(random() * AGENTS);
    const coin = random();
    const signal: 'SIGKILL' | 'SIGTERM' =
      SIGNAL === 'SIGKILL' || SIGNAL === 'SIGTERM' ? SIGNAL : coin < 0.5 ? 'SIGKILL' : 'SIGTERM';
    return { index: r, atJobs, agent, signal, downMs: 500 + Math.floor(random() * 2500) };
  });

  // Progress from the control plane's own events.
  let finished = 0;
  const startedPerAttempt = new Map<string, number>();
  const retryReasons: Record<string, number> = {};
  const off = server.controlPlane.events.subscribe((e) => {
    if (e.type === 'job.finished') finished++;
    else if (e.type === 'job.started') {
      const key = `${e.payload['jobId']}#${e.payload['attempt']}`;
      startedPerAttempt.set(key, (startedPerAttempt.get(key) ?? 0) + 1);
    } else if (e.type === 'job.retry') {
      const reason = String(e.payload['reason']);
      retryReasons[reason] = (retryReasons[reason] ?? 0) + 1;
    }
  });

  // Memory: this process is the control plane.
  const memStart = memNow(true);
  const cpuStart = process.cpuUsage();
  const loadStart = loadavg();
  /** CPU seconds of each agent process (its own Node.js, not its browsers), last sampled. */
  const agentCpu = new Map<AgentProc, number>();
  const peak = { ...memStart };
  const agentPeakRssMiB: Record<string, number> = {};
  const sampler = setInterval(() => {
    const m = memNow(false);
    peak.rssMiB = Math.max(peak.rssMiB, m.rssMiB);
    peak.heapUsedMiB = Math.max(peak.heapUsedMiB, m.heapUsedMiB);
    const procs = allProcs();
    for (const agent of slots) {
      if (!agent?.alive) continue;
      agent.track(procs);
      const rss = mib(rssKiB(agent.pid) * 1024);
      agentPeakRssMiB[agent.host] = Math.max(agentPeakRssMiB[agent.host] ?? 0, rss);
      const cpu = cpuSeconds(agent.pid);
      if (!Number.isNaN(cpu)) agentCpu.set(agent, cpu);
    }
  }, 500);

  // Runs: two at once, each next one when the one before the last is done, so new work keeps arriving.
  const runIds: string[] = [];
  const t0 = Date.now();
  const submit = async (k: number) => {
    const { run, plan: runPlan } = await server!.controlPlane.submit({
      query: `tag:soak-g${k}`,
      partner: PARTNERS[k % PARTNERS.length]!,
      priority: PRIORITIES[k % PRIORITIES.length]!,
      build: `soak-build-${k}`,
    });
    runIds.push(run.id);
    const expected = Math.min(PER_RUN, JOBS - k * PER_RUN);
    if (runPlan.jobs.length !== expected)
      throw new Error(`run ${k} planned ${runPlan.jobs.length} jobs, expected ${expected}`);
  };
  let submitError: unknown = null;
  let allDone = false;
  const submitter = (async () => {
    for (let k = 0; k < RUNS; k++) {
      while (k >= 2 && finished < (k - 1) * PER_RUN && !allDone) await sleep(100);
      if (allDone) return;
      await submit(k);
    }
  })().catch((err: unknown) => {
    submitError = err;
  });

  // Chaos: the planned restarts, one after another, each when its share of the jobs is done.
  const restarts: RestartRecord[] = [];
  const reaping: Promise<void>[] = [];
  const chaosErrors: string[] = [];
  const chaos = (async () => {
    for (const step of plan) {
      while (finished < step.atJobs && !allDone) await sleep(50);
      if (allDone) break;
      const old = slots[step.agent];
      if (!old) {
        chaosErrors.push(`restart ${step.index + 1}: ${hostOf(step.agent)} has no running agent`);
        continue;
      }
      const record: RestartRecord = {
        index: step.index,
        host: old.host,
        signal: step.signal,
        atJobs: finished,
        atS: (Date.now() - t0) / 1000,
        stopMs: 0,
        forced: false,
        downMs: step.downMs,
        startMs: 0,
        leftoverProcesses: [],
      };
      restarts.push(record);
      process.stderr.write(
        `soak: restart ${step.index + 1}/${plan.length}: ${step.signal} ${old.host} at ${finished} jobs\n`,
      );
      try {
        old.track(allProcs());
        const t = Date.now();
        if (step.signal === 'SIGKILL') await old.kill9();
        else record.forced = (await old.stop(20_000)).forced;
        record.stopMs = Date.now() - t;
        // What a slow shutdown printed, for the report.
        if (record.forced || (step.signal === 'SIGTERM' && record.stopMs > 5000))
          record.outputTail = old.output.slice(-1500);
        slots[step.agent] = null;
        retired.push(old);
        await sleep(step.downMs);
        // What the old agent left running: its browsers run in their own process groups and exit when
        // their pipe to it closes, which takes a while on a busy machine. Whatever still runs after
        // ORPHAN_GRACE_MS is recorded, then killed by pid so it does not pile up over the soak.
        reaping.push(
          (async () => {
            const deadline = Date.now() + ORPHAN_GRACE_MS;
            while (old.leftovers().length > 0 && Date.now() < deadline) await sleep(250);
            const left = old.leftovers();
            record.leftoverProcesses = left.map((p) => `${p.comm}[${p.pid}]`);
            for (const p of left) {
              try {
                process.kill(p.pid, 'SIGKILL');
              } catch {
                // gone meanwhile
              }
            }
          })(),
        );
        const t2 = Date.now();
        await startAgent(step.agent);
        record.startMs = Date.now() - t2;
      } catch (err) {
        record.error = (err as Error).message.slice(0, 2000);
        // Put an agent back in any case so the soak can finish.
        if (!slots[step.agent]?.alive) await startAgent(step.agent).catch(() => {});
      }
    }
  })().catch((err: unknown) => {
    chaosErrors.push(String((err as Error).stack ?? err));
  });

  // Wait for every run to finish; progress every 15 s, and what the open jobs wait for when it stalls.
  let timedOut = false;
  let lastProgress = Date.now();
  let lastFinished = -1;
  let stalledSince = Date.now();
  while (true) {
    if (interrupted) return 130;
    if (submitError) throw submitError;
    if (finished !== lastFinished) {
      lastFinished = finished;
      stalledSince = Date.now();
    }
    if (Date.now() - lastProgress > 15_000) {
      lastProgress = Date.now();
      process.stderr.write(
        `soak: ${finished}/${JOBS} jobs done after ${((Date.now() - t0) / 1000).toFixed(0)} s, control plane rss ${memNow(false).rssMiB} MiB, load ${loadavg()[0]!.toFixed(1)}\n`,
      );
      if (Date.now() - stalledSince > 30_000) process.stderr.write(await describeOpen(server, runIds));
    }
    const open = runIds.filter((id) => {
      const status = server!.store.runs.get(id)?.status;
      return status === 'queued' || status === 'running';
    });
    if (runIds.length === RUNS && open.length === 0) break;
    if (Date.now() - t0 > TIMEOUT_MS) {
      timedOut = true;
      break;
    }
    // A crashed agent is reported (a failed check); put it back so the soak can still finish.
    for (let i = 0; i < slots.length; i++) {
      const agent = slots[i];
      if (!agent?.crashed) continue;
      retired.push(agent);
      slots[i] = null;
      await startAgent(i).catch(() => {});
    }
    await sleep(200);
  }
  const lastFinishedAt = Number(
    (
      server.store.db
        .prepare(
          `SELECT max(finished_at) AS t FROM jobs WHERE run_id IN (${runIds.map(() => '?').join(',')})`,
        )
        .get(...runIds) as { t: number | null }
    ).t ?? Date.now(),
  );
  const durationS = (Math.max(lastFinishedAt, t0) - t0) / 1000;
  allDone = true;
  await submitter;
  await chaos;
  await Promise.all(reaping);
  off();

  // ---- checks (agents still up) ---------------------------------------------------------------------
  const checks: Check[] = [];
  const db = server.store.db;
  const inRuns = `run_id IN (${runIds.map(() => '?').join(',')})`;
  const runRows = runIds.map((id) => server!.store.runs.get(id)!);
  const unfinished = runRows.filter((r) => r.status === 'queued' || r.status === 'running');
  checks.push({
    name: 'no run left unfinished',
    ok: !timedOut && runRows.length === RUNS && unfinished.length === 0,
    detail: `${runRows.length}/${RUNS} runs submitted, ${unfinished.length} unfinished${timedOut ? `, timed out after ${TIMEOUT_MS / 1000} s` : ''}; statuses: ${runRows.map((r) => r.status).join(', ')}`,
  });

  const jobs = db
    .prepare(`SELECT id, test_id AS testId, state, verdict, attempts FROM jobs WHERE ${inRuns}`)
    .all(...runIds) as {
    id: string;
    testId: string;
    state: string;
    verdict: string | null;
    attempts: number;
  }[];
  const finishedEvents = new Map(
    (
      db
        .prepare(
          `SELECT json_extract(payload_json, '$.jobId') AS j, count(*) AS n FROM events
           WHERE type = 'job.finished' AND ${inRuns} GROUP BY j`,
        )
        .all(...runIds) as { j: string; n: number }[]
    ).map((r) => [r.j, r.n]),
  );
  const attemptStats = new Map(
    (
      db
        .prepare(
          `SELECT job_id AS j, count(*) AS n, max(attempt) AS maxA, sum(status = 'error') AS infra
           FROM attempts WHERE ${inRuns} GROUP BY job_id`,
        )
        .all(...runIds) as { j: string; n: number; maxA: number; infra: number }[]
    ).map((r) => [r.j, r]),
  );
  const noVerdict = jobs.filter((j) => j.state !== 'done' || j.verdict === null);
  const notOnce = jobs.filter((j) => finishedEvents.get(j.id) !== 1);
  const attemptGaps = jobs.filter((j) => {
    const a = attemptStats.get(j.id);
    return !a || a.n !== a.maxA || a.n !== j.attempts;
  });
  const uniqueTests = new Set(jobs.map((j) => j.testId)).size;
  checks.push({
    name: 'every job has exactly one final verdict',
    ok:
      jobs.length === JOBS &&
      uniqueTests === JOBS &&
      noVerdict.length === 0 &&
      notOnce.length === 0 &&
      finishedEvents.size === JOBS,
    detail: `${jobs.length}/${JOBS} jobs (${uniqueTests} distinct tests), ${noVerdict.length} without a verdict, ${notOnce.length} without exactly one job.finished event${notOnce.length ? ` (e.g. ${notOnce[0]!.id}: ${finishedEvents.get(notOnce[0]!.id) ?? 0})` : ''}`,
  });
  checks.push({
    name: 'attempts numbered 1..n, one row each',
    ok: attemptGaps.length === 0,
    detail: `${attemptGaps.length} job(s) whose attempt rows do not match their attempt count${attemptGaps.length ? ` (e.g. ${attemptGaps[0]!.id})` : ''}`,
  });
  const wrongVerdict = jobs.filter((j) => {
    const kind = kindOf(Number(j.testId.replace('soak.t', '')));
    // A flaky test killed between its failure and its report reruns the same attempt and passes.
    return j.verdict !== EXPECTED[kind] && !(kind === 'flaky' && j.verdict === 'passed');
  });
  checks.push({
    name: 'verdicts as designed (pass/fail/flaky tests)',
    ok: wrongVerdict.length === 0,
    detail: `${wrongVerdict.length} unexpected${
      wrongVerdict.length
        ? `: ${wrongVerdict
            .slice(0, 5)
            .map((j) => `${j.testId}=${j.verdict}`)
            .join(', ')}`
        : ''
    }`,
  });

  // Leases: released by every attempt; one of a SIGKILLed agent expires by its TTL.
  let leases = await scanKeys(redis, `${prefix}:lease:*`);
  const leasesAtEnd = leases.length;
  const leaseDeadline = Date.now() + LEASE_TTL_MS + 2000;
  while (leases.length > 0 && Date.now() < leaseDeadline) {
    await sleep(250);
    leases = await scanKeys(redis, `${prefix}:lease:*`);
  }
  checks.push({
    name: 'no lease left in Redis',
    ok: leases.length === 0,
    detail: `${leasesAtEnd} lease key(s) when the last run finished, ${leases.length} after the lease TTL${leases.length ? `: ${leases.slice(0, 3).join(', ')}` : ''}`,
  });

  // Queues: nothing waiting, running or delayed; no report dropped as malformed.
  const queueCounts: Record<string, Record<string, number>> = {};
  const pools = [
    ...new Set(
      (db.prepare(`SELECT DISTINCT pool FROM jobs WHERE ${inRuns}`).all(...runIds) as { pool: string }[]).map(
        (r) => r.pool,
      ),
    ),
  ];
  for (const name of pools.map(poolQueueName)) {
    const q = new Queue(name, { connection: redis, prefix });
    queueCounts[name] = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    await q.close();
  }
  // The report stream: nothing left unstored; a malformed report counts as failed.
  const reports = await reportStreamCounts(redis, labKeys(prefix));
  queueCounts['reports'] = { waiting: reports.waiting, failed: reports.dead };
  const queueLeft = Object.entries(queueCounts).filter(([, c]) =>
    Object.entries(c).some(([state, n]) => n > 0 && state !== 'failed'),
  );
  const queueFailed = Object.entries(queueCounts).filter(([, c]) => (c['failed'] ?? 0) > 0);
  checks.push({
    name: 'no attempt left in a queue, none failed',
    ok: queueLeft.length === 0 && queueFailed.length === 0,
    detail: Object.entries(queueCounts)
      .map(
        ([q, c]) =>
          `${q}: ${
            Object.entries(c)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${s} ${n}`)
              .join(' ') || 'empty'
          }`,
      )
      .join('; '),
  });
  checks.push({
    name: 'every restart succeeded, no agent died on its own',
    ok: unexpectedExits.length === 0 && chaosErrors.length === 0 && restarts.every((r) => !r.error),
    detail: `${restarts.length}/${plan.length} restarts done${
      restarts.length < plan.length
        ? ` (${plan.length - restarts.length} not reached: the jobs were done first)`
        : ''
    }${
      restarts.some((r) => r.error)
        ? `; failed: ${restarts
            .filter((r) => r.error)
            .map((r) => `#${r.index + 1} ${r.error}`)
            .join(' | ')}`
        : ''
    }${unexpectedExits.length ? `; unexpected exits: ${unexpectedExits.join(' | ')}` : ''}${
      chaosErrors.length ? `; ${chaosErrors.join(' | ')}` : ''
    }`,
  });

  // Figures.
  const verdicts: Record<string, number> = {};
  for (const j of jobs) verdicts[j.verdict ?? 'pending'] = (verdicts[j.verdict ?? 'pending'] ?? 0) + 1;
  const multiAttempt = jobs.filter((j) => j.attempts > 1).length;
  const infraAttempts = [...attemptStats.values()].reduce((s, a) => s + a.infra, 0);
  const totalAttempts = [...attemptStats.values()].reduce((s, a) => s + a.n, 0);
  const reexecuted = [...startedPerAttempt.values()].filter((n) => n > 1).length;
  const memEnd = memNow(true);
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuStart);
  const controlPlaneCpuS = (cpu.user + cpu.system) / 1e6;
  const agentsCpuS = [...agentCpu.values()].reduce((a, b) => a + b, 0);
  const infraMessages = (
    db
      .prepare(
        `SELECT substr(substr(m, 1, instr(m || char(10), char(10)) - 1), 1, 160) AS m, count(*) AS n
         FROM (SELECT coalesce(message, '?') AS m, run_id FROM attempts WHERE status = 'error')
         WHERE ${inRuns} GROUP BY 1 ORDER BY n DESC LIMIT 10`,
      )
      .all(...runIds) as { m: string; n: number }[]
  ).map((r) => ({ message: r.m, count: r.n }));
  const infraAttemptList = (
    db
      .prepare(
        `SELECT job_id AS jobId, attempt, agent, device_id AS deviceId, started_at AS startedAt, ended_at AS endedAt,
           substr(coalesce(message, '?'), 1, 300) AS message
         FROM attempts WHERE status = 'error' AND ${inRuns} ORDER BY ended_at LIMIT 100`,
      )
      .all(...runIds) as {
      jobId: string;
      attempt: number;
      agent: string;
      deviceId: string;
      startedAt: number;
      endedAt: number;
      message: string;
    }[]
  ).map((a) => ({
    jobId: a.jobId,
    attempt: a.attempt,
    agent: a.agent,
    deviceId: a.deviceId,
    startedAtS: (a.startedAt - t0) / 1000,
    endedAtS: (a.endedAt - t0) / 1000,
    message: a.message.split('\n')[0],
  }));
  // Device state changes over the soak (health checks quarantine a device after repeated failures).
  const states = new DeviceStateStore(redis, { prefix: `${prefix}:` });
  const deviceTransitions: {
    device: string;
    from: string;
    to: string;
    reason: string;
    by: string;
    at: string;
  }[] = [];
  const finalStates: Record<string, number> = {};
  for (let a = 0; a < AGENTS; a++) {
    for (let d = 0; d < DEVICES_PER_AGENT; d++) {
      const id = `soak-web-${a}-${d}`;
      const st = await states.get(id);
      finalStates[st.state] = (finalStates[st.state] ?? 0) + 1;
      for (const t of (await states.history(id, 200)).reverse())
        if (t.from !== t.to && !['leased', 'busy'].includes(t.to) && !['leased', 'busy'].includes(t.from))
          deviceTransitions.push({
            device: id,
            from: t.from,
            to: t.to,
            reason: t.reason,
            by: t.by,
            at: new Date(t.at).toISOString(),
          });
    }
  }

  // ---- stop everything and check nothing outlived it ------------------------------------------------
  const { leftover, stops: finalStops } = await cleanup();
  const termStops = [
    ...restarts.filter((r) => r.signal === 'SIGTERM').map((r) => ({ ms: r.stopMs, forced: r.forced })),
    ...finalStops,
  ];
  const duringSoak = restarts.flatMap((r) =>
    r.leftoverProcesses.map((p) => `${p} after ${r.signal} #${r.index + 1}`),
  );
  checks.push({
    name: 'no process left behind by an agent',
    ok: leftover.length === 0 && duringSoak.length === 0,
    detail: `${duringSoak.length} process(es) outlived a restarted agent, ${leftover.length} left at the end (killed by pid)${duringSoak.length + leftover.length ? `: ${[...duringSoak, ...leftover].slice(0, 6).join(', ')}` : ''}`,
  });

  const result = {
    when: new Date().toISOString(),
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? '?',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    options: {
      jobs: JOBS,
      agents: AGENTS,
      devicesPerAgent: DEVICES_PER_AGENT,
      restartsPlanned: RESTARTS,
      seed: SEED,
      runs: RUNS,
      perRun: PER_RUN,
      leaseTtlMs: LEASE_TTL_MS,
      jobLockMs: JOB_LOCK_MS,
      device: 'browser (Playwright + /usr/bin/chromium, one context per test)',
    },
    controlPlaneMemory: {
      start: memStart,
      end: memEnd,
      peak,
      note: 'start/end after a full GC; peak sampled every 500 ms',
    },
    agentPeakRssMiB,
    durationS: Math.round(durationS * 10) / 10,
    jobsPerS: Math.round((jobs.length / Math.max(durationS, 0.001)) * 10) / 10,
    totalJobs: jobs.length,
    totalAttempts,
    verdicts,
    restarts: {
      done: restarts.length,
      sigkill: restarts.filter((r) => r.signal === 'SIGKILL').length,
      sigterm: restarts.filter((r) => r.signal === 'SIGTERM').length,
      list: restarts,
    },
    multiAttemptJobs: multiAttempt,
    sigtermStops: {
      count: termStops.length,
      maxMs: Math.max(0, ...termStops.map((t) => t.ms)),
      forcedAfter20s: termStops.filter((t) => t.forced).length,
      final: finalStops,
    },
    cpu: {
      controlPlaneS: Math.round(controlPlaneCpuS * 10) / 10,
      agentsNodeS: Math.round(agentsCpuS * 10) / 10,
      controlPlaneMsPerJob: Math.round((controlPlaneCpuS * 1000 * 10) / Math.max(1, jobs.length)) / 10,
      agentsNodeMsPerJob: Math.round((agentsCpuS * 1000 * 10) / Math.max(1, jobs.length)) / 10,
      note: 'CPU time of the control plane (this process) and of the agents’ Node.js processes (sampled every 500 ms, browsers not included)',
    },
    infraErrorMessages: infraMessages,
    infraErrorAttemptList: infraAttemptList,
    deviceTransitions,
    finalDeviceStates: finalStates,
    retries: retryReasons,
    infraErrorAttempts: infraAttempts,
    reexecutedAttempts: reexecuted,
    runs: runRows.map((r) => ({
      id: r.id,
      partner: r.request.partner,
      priority: r.request.priority,
      status: r.status,
    })),
    machineLoad: { start: loadStart, end: loadavg() },
    checks,
    ok: checks.every((c) => c.ok),
  };
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  printTable(result, checks);
  process.stdout.write(`\nJSON: ${OUT}\n`);
  return result.ok ? 0 : 1;
}

/** The open jobs and where their next attempt is in its queue: what a stalled soak waits for. */
async function describeOpen(service: ControlPlaneService, runIds: string[]): Promise<string> {
  const open = runIds.flatMap((id) => service.store.jobs.openJobs(id));
  const lines = [`soak: no verdict for 30 s; ${open.length} open job(s):`];
  const queues = new Map<string, Queue>();
  for (const job of open.slice(0, 10)) {
    let q = queues.get(job.pool);
    if (!q) {
      q = new Queue(poolQueueName(job.pool), { connection: redis, prefix });
      queues.set(job.pool, q);
    }
    const states: string[] = [];
    for (let a = 1; a <= job.attempts + 1; a++) {
      const qj = await q.getJob(attemptJobId(job.id, a));
      states.push(
        `a${a}: ${qj ? `${await qj.getState()}${qj.failedReason ? ` (${qj.failedReason})` : ''}` : 'absent'}`,
      );
    }
    lines.push(
      `  ${job.id} ${job.testId} state=${job.state} attempts=${job.attempts} device=${job.deviceId} | ${states.join(', ')}`,
    );
  }
  for (const q of queues.values()) await q.close();
  const leases = await scanKeys(redis, `${prefix}:lease:*`);
  lines.push(`  leases held: ${leases.length ? leases.join(', ') : 'none'}`);
  lines.push(
    `  agents: ${slots.map((a) => (a ? `${a.host}#${a.generation} ${a.alive ? 'up' : 'down'}` : 'restarting')).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

function printTable(
  r: {
    controlPlaneMemory: { start: Mem; end: Mem; peak: Mem };
    durationS: number;
    jobsPerS: number;
    totalJobs: number;
    totalAttempts: number;
    verdicts: Record<string, number>;
    restarts: { done: number; sigkill: number; sigterm: number };
    multiAttemptJobs: number;
    retries: Record<string, number>;
    infraErrorAttempts: number;
    sigtermStops: { count: number; maxMs: number; forcedAfter20s: number };
    cpu: { controlPlaneMsPerJob: number; agentsNodeMsPerJob: number };
    infraErrorMessages: { message: string; count: number }[];
    deviceTransitions: { to: string }[];
    finalDeviceStates: Record<string, number>;
    machineLoad: { start: number[]; end: number[] };
    reexecutedAttempts: number;
    agentPeakRssMiB: Record<string, number>;
  },
  checks: Check[],
): void {
  const m = r.controlPlaneMemory;
  const rows: [string, string][] = [
    ['control plane rss (start / end / peak)', `${m.start.rssMiB} / ${m.end.rssMiB} / ${m.peak.rssMiB} MiB`],
    [
      'control plane heapUsed (start / end / peak)',
      `${m.start.heapUsedMiB} / ${m.end.heapUsedMiB} / ${m.peak.heapUsedMiB} MiB`,
    ],
    [
      'agent rss, peak per process',
      `${Math.max(0, ...Object.values(r.agentPeakRssMiB))} MiB (max of ${Object.keys(r.agentPeakRssMiB).length})`,
    ],
    ['jobs', String(r.totalJobs)],
    ['attempts', String(r.totalAttempts)],
    ['duration (first submit → last verdict)', `${r.durationS} s`],
    ['throughput', `${r.jobsPerS} jobs/s`],
    [
      'verdicts',
      Object.entries(r.verdicts)
        .map(([v, n]) => `${v} ${n}`)
        .join(', '),
    ],
    ['restarts (SIGKILL / SIGTERM)', `${r.restarts.done} (${r.restarts.sigkill} / ${r.restarts.sigterm})`],
    [
      'SIGTERM stops (restarts + final): slowest, killed after 20 s',
      `${r.sigtermStops.count}: ${(r.sigtermStops.maxMs / 1000).toFixed(1)} s, ${r.sigtermStops.forcedAfter20s} killed`,
    ],
    ['jobs with more than one attempt', String(r.multiAttemptJobs)],
    [
      'retries by reason',
      Object.entries(r.retries)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none',
    ],
    ['infrastructure-error attempts', String(r.infraErrorAttempts)],
    ...r.infraErrorMessages
      .slice(0, 3)
      .map((m): [string, string] => [`  ×${m.count}`, m.message.slice(0, 100)]),
    [
      'CPU per job: control plane / agents (Node.js)',
      `${r.cpu.controlPlaneMsPerJob} / ${r.cpu.agentsNodeMsPerJob} ms`,
    ],
    [
      'device quarantines during the soak',
      `${r.deviceTransitions.filter((t) => t.to === 'quarantined').length}; at the end: ${Object.entries(
        r.finalDeviceStates,
      )
        .map(([st, n]) => `${st} ${n}`)
        .join(', ')}`,
    ],
    [
      'machine load average 1/5/15 min (start → end)',
      `${r.machineLoad.start.map((l) => l.toFixed(1)).join(' ')} → ${r.machineLoad.end.map((l) => l.toFixed(1)).join(' ')}`,
    ],
    ['attempts executed more than once (redelivered)', String(r.reexecutedAttempts)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length), ...checks.map((c) => c.name.length + 7));
  const line = '─'.repeat(width + 2);
  process.stdout.write(`\n${line}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(`${line}\n`);
  for (const c of checks)
    process.stdout.write(`${`[${c.ok ? 'ok' : 'FAIL'}] ${c.name}`.padEnd(width)}  ${c.detail}\n`);
  process.stdout.write(`${line}\n`);
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    for (const agent of slots)
      if (agent) process.stderr.write(`--- ${agent.host} output (tail) ---\n${agent.output.slice(-2000)}\n`);
  }
  code = 1;
} finally {
  if (!interrupted)
    await cleanup().catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
}
if (!interrupted) process.exit(code);
