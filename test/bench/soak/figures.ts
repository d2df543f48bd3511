// The figures of the report: verdicts, attempts, CPU and memory, infrastructure errors and device state
// changes over the soak. Taken after the checks, while the agents are still up.
import { DeviceStateStore } from '../../../devices/state/state-store.ts';
import type { ControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import type { EndChecks } from './checks.ts';
import { prefix, redis } from './lab.ts';
import { memNow, type Progress, type Usage } from './monitor.ts';
import { AGENTS, DEVICES_PER_AGENT } from './options.ts';
import type { Runs } from './runs.ts';

export type Figures = Awaited<ReturnType<typeof collectFigures>>;

/** Also stops the sampler (after the last memory reading). */
export async function collectFigures(
  server: ControlPlaneService,
  runs: Runs,
  ended: Pick<EndChecks, 'jobs' | 'attemptStats'>,
  progress: Progress,
  usage: Usage,
) {
  const { runIds, t0 } = runs;
  const { jobs, attemptStats } = ended;
  const { startedPerAttempt } = progress;
  const { sampler, cpuStart, agentCpu } = usage;
  const db = server.store.db;
  const inRuns = `run_id IN (${runIds.map(() => '?').join(',')})`;
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
  return {
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
  };
}
