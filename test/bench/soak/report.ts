// The report: the JSON written to --out and the table printed at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import type { RestartRecord } from './chaos.ts';
import type { Check, EndChecks } from './checks.ts';
import type { EvidenceFigures } from './evidence.ts';
import type { Figures } from './figures.ts';
import type { Mem, Progress, Usage } from './monitor.ts';
import type { OutageRecord } from './outages.ts';
import {
  AGENTS,
  DEVICES_PER_AGENT,
  FAULTS,
  JOB_LOCK_MS,
  JOBS,
  LEASE_TTL_MS,
  OUT,
  OUTAGE_MS,
  OUTAGES,
  PER_RUN,
  RESTARTS,
  RUNS,
  SEED,
} from './options.ts';

/** Writes the JSON report and prints the table; the exit code: 0 when every check is ok, else 1. */
export function report(input: {
  usage: Usage;
  progress: Progress;
  durationS: number;
  ended: Pick<EndChecks, 'jobs' | 'runRows'>;
  checks: Check[];
  figures: Figures;
  restarts: RestartRecord[];
  outages: { planned: number; list: OutageRecord[] };
  evidence: EvidenceFigures;
  finalStops: { host: string; ms: number; forced: boolean }[];
}): number {
  const { usage, progress, durationS, ended, checks, figures, restarts, outages, evidence, finalStops } =
    input;
  const { memStart, peak, agentPeakRssMiB, loadStart } = usage;
  const { retryReasons } = progress;
  const { jobs, runRows } = ended;
  const {
    verdicts,
    multiAttempt,
    infraAttempts,
    totalAttempts,
    reexecuted,
    memEnd,
    controlPlaneCpuS,
    agentsCpuS,
    infraMessages,
    infraAttemptList,
    deviceTransitions,
    finalStates,
  } = figures;
  const termStops = [
    ...restarts.filter((r) => r.signal === 'SIGTERM').map((r) => ({ ms: r.stopMs, forced: r.forced })),
    ...finalStops,
  ];

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
      faults: [...FAULTS],
      outagesPerKind: OUTAGES,
      outageMaxMs: OUTAGE_MS,
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
    outages: {
      planned: outages.planned,
      done: outages.list.length,
      byKind: Object.fromEntries(
        ['control-plane', 'redis', 'artifacts'].map((k) => [
          k,
          outages.list.filter((o) => o.kind === k).length,
        ]),
      ),
      list: outages.list,
    },
    artifacts: evidence.artifacts,
    executions: evidence.executions,
    duplicateExecutions: evidence.duplicates,
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

function printTable(
  r: {
    controlPlaneMemory: { start: Mem; end: Mem; peak: Mem };
    durationS: number;
    jobsPerS: number;
    totalJobs: number;
    totalAttempts: number;
    verdicts: Record<string, number>;
    restarts: { done: number; sigkill: number; sigterm: number };
    outages: { planned: number; done: number; byKind: Record<string, number> };
    artifacts: EvidenceFigures['artifacts'];
    executions: EvidenceFigures['executions'];
    duplicateExecutions: EvidenceFigures['duplicates'];
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
      'outages done / planned (control plane, Redis, artifacts)',
      `${r.outages.done} / ${r.outages.planned} (${['control-plane', 'redis', 'artifacts'].map((k) => r.outages.byKind[k] ?? 0).join(', ')})`,
    ],
    [
      'artifacts lost (expected vs stored)',
      `${r.artifacts.lost} (${r.artifacts.stored} of ${r.artifacts.expected} stored; ${r.artifacts.recordedLostRows} recorded lost, spool left ${r.artifacts.spoolLeft})`,
    ],
    [
      'duplicate executions seen (recorded) / unseen',
      `${r.duplicateExecutions.count} / ${r.executions.unseen} (of ${r.executions.total} executions)`,
    ],
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
