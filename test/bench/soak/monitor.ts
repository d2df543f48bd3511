// Watching the soak: progress from the control plane's events, memory and CPU sampled every 500 ms, and
// what the open jobs wait for when it stalls.
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Queue } from 'bullmq';
import type { ControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import { attemptJobId, poolQueueName } from '../../../harness/queue/names.ts';
import { scanKeys } from '../../support/redis-keys.ts';
import type { AgentProc } from './agent-proc.ts';
import { slots } from './agents.ts';
import { prefix, redis } from './lab.ts';
import { allProcs, cpuSeconds, rssKiB } from './procs.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface Mem {
  rssMiB: number;
  heapUsedMiB: number;
}
export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
export function memNow(collect: boolean): Mem {
  if (collect) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed) };
}

export interface Progress {
  /** Jobs with their final verdict. */
  finished: number;
  readonly startedPerAttempt: Map<string, number>;
  readonly retryReasons: Record<string, number>;
}

// Progress from the control plane's own events; `attach` follows a restarted control plane (its count of
// finished jobs taken from the store, as the events of its start were published before it was attached).
export function followProgress(): {
  progress: Progress;
  attach: (server: ControlPlaneService) => void;
  off: () => void;
} {
  const progress: Progress = { finished: 0, startedPerAttempt: new Map<string, number>(), retryReasons: {} };
  const { startedPerAttempt, retryReasons } = progress;
  let off = () => {};
  const attach = (server: ControlPlaneService) => {
    off();
    off = server.controlPlane.events.subscribe((e) => {
      if (e.type === 'job.finished') progress.finished++;
      else if (e.type === 'job.started') {
        const key = `${e.payload['jobId']}#${e.payload['attempt']}`;
        startedPerAttempt.set(key, (startedPerAttempt.get(key) ?? 0) + 1);
      } else if (e.type === 'job.retry') {
        const reason = String(e.payload['reason']);
        retryReasons[reason] = (retryReasons[reason] ?? 0) + 1;
      }
    });
    // The soak's store holds only its own runs.
    const done = server.store.db.prepare(`SELECT count(*) AS n FROM jobs WHERE state = 'done'`).get() as {
      n: number;
    };
    progress.finished = Math.max(progress.finished, done.n);
  };
  return { progress, attach, off: () => off() };
}

export type Usage = ReturnType<typeof startSampler>;

// Memory: this process is the control plane.
export function startSampler() {
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
  return { memStart, cpuStart, loadStart, agentCpu, peak, agentPeakRssMiB, sampler };
}

/** The open jobs and where their next attempt is in its queue: what a stalled soak waits for. */
export async function describeOpen(service: ControlPlaneService, runIds: string[]): Promise<string> {
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
