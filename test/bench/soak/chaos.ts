// Chaos: agents restarted at seeded random points (SIGKILL some, SIGTERM others) while the jobs run, and
// the outages of outages.ts (control plane, Redis, artifacts folder) between them, one step at a time.
import { rng } from '../makespan.ts';
import { retired, slots, startAgent } from './agents.ts';
import type { Progress } from './monitor.ts';
import { type OutageRecord, type OutageStep, runOutage } from './outages.ts';
import { AGENTS, JOBS, ORPHAN_GRACE_MS, RESTARTS, SEED, SIGNAL } from './options.ts';
import { allProcs } from './procs.ts';
import type { Runs } from './runs.ts';
import { sleep } from './sleep.ts';
import { hostOf } from './suite.ts';

export interface RestartRecord {
  index: number;
  host: string;
  /** The agent process stopped (its executions' markers name it), and when it was gone (epoch ms). */
  pid: number;
  stoppedAt?: number;
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

export interface RestartStep {
  index: number;
  atJobs: number;
  agent: number;
  signal: 'SIGKILL' | 'SIGTERM';
  downMs: number;
}

// Restart plan: stratified over 5–90 % of the jobs, so restarts are spread over the whole soak.
export function restartPlan(): RestartStep[] {
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
  return plan;
}

export interface Chaos {
  readonly restarts: RestartRecord[];
  readonly outages: OutageRecord[];
  /** One per restart: waits for what the old agent left running, records it and kills it. */
  readonly reaping: Promise<void>[];
  readonly chaosErrors: string[];
  /** Settles when the restarts are done (or stopped once every run is finished). */
  readonly chaos: Promise<void>;
}

type Step = ({ restart: RestartStep } | { outage: OutageStep }) & { at: number };

// Chaos: the planned restarts and outages, one after another, each when its share of the jobs is done.
export function startChaos(
  plan: RestartStep[],
  outagePlan: OutageStep[],
  progress: Progress,
  runs: Runs,
): Chaos {
  const { t0 } = runs;
  const restarts: RestartRecord[] = [];
  const outages: OutageRecord[] = [];
  const reaping: Promise<void>[] = [];
  const chaosErrors: string[] = [];
  const steps: Step[] = [
    ...plan.map((restart) => ({ restart, at: restart.atJobs })),
    ...outagePlan.map((outage) => ({ outage, at: outage.atJobs })),
  ].sort((a, b) => a.at - b.at);
  const outage = async (step: OutageStep) => {
    const record: OutageRecord = {
      ...step,
      atJobs: progress.finished,
      atS: (Date.now() - t0) / 1000,
      totalMs: 0,
    };
    outages.push(record);
    process.stderr.write(
      `soak: outage ${step.index + 1}/${outagePlan.length}: ${step.kind}${step.mode ? ` (${step.mode})` : ''} for ${(step.downMs / 1000).toFixed(1)} s at ${progress.finished} jobs\n`,
    );
    const t = Date.now();
    try {
      await runOutage(step);
    } catch (err) {
      record.error = (err as Error).message.slice(0, 2000);
      runs.fatalError = new Error(
        `outage ${step.index + 1} (${step.kind}): the part did not come back: ${record.error}`,
      );
    }
    record.totalMs = Date.now() - t;
  };
  const chaos = (async () => {
    for (const next of steps) {
      while (progress.finished < next.at && !runs.allDone) await sleep(50);
      if (runs.allDone) break;
      if ('outage' in next) {
        await outage(next.outage);
        continue;
      }
      const step = next.restart;
      const old = slots[step.agent];
      if (!old) {
        chaosErrors.push(`restart ${step.index + 1}: ${hostOf(step.agent)} has no running agent`);
        continue;
      }
      const record: RestartRecord = {
        index: step.index,
        host: old.host,
        pid: old.pid,
        signal: step.signal,
        atJobs: progress.finished,
        atS: (Date.now() - t0) / 1000,
        stopMs: 0,
        forced: false,
        downMs: step.downMs,
        startMs: 0,
        leftoverProcesses: [],
      };
      restarts.push(record);
      process.stderr.write(
        `soak: restart ${step.index + 1}/${plan.length}: ${step.signal} ${old.host} at ${progress.finished} jobs\n`,
      );
      try {
        old.track(allProcs());
        const t = Date.now();
        if (step.signal === 'SIGKILL') await old.kill9();
        else record.forced = (await old.stop(20_000)).forced;
        record.stopMs = Date.now() - t;
        record.stoppedAt = Date.now();
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
        if (!slots[step.agent]?.alive)
          await startAgent(step.agent).catch((again: unknown) => {
            chaosErrors.push(
              `restart ${step.index + 1}: ${hostOf(step.agent)} not started again: ${String(again)}`,
            );
          });
      }
    }
  })().catch((err: unknown) => {
    chaosErrors.push(String((err as Error).stack ?? err));
  });

  return { restarts, outages, reaping, chaosErrors, chaos };
}
