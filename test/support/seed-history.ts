import { randomUUID } from 'node:crypto';
import type { Verdict } from '../../harness/protocol/verdict.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import type { NewJob } from '../../harness/store/jobs-repo.ts';
import type { RunStatus } from '../../harness/store/runs-repo.ts';
import type { Store } from '../../harness/store/store.ts';

export interface SeedJob {
  test: string;
  device: string;
  verdict: Verdict;
  model?: string;
  durationMs?: number;
  /** The risk and run-time estimate it was planned with (default 0 and 1 s). */
  score?: number;
  estDurationMs?: number;
}

/** A job row as the planner would plan it (what `store.jobs.insertMany` takes). */
export function plannedJob(runId: string, seq: number, testId: string, device: string, model = 'M1'): NewJob {
  return {
    id: randomUUID(),
    runId,
    seq,
    testId,
    pool: `pool-${device}`,
    deviceModel: model,
    deviceFirmware: '1.0',
    devicePlatform: 'tizen',
    component: 'player',
    score: 0,
    reasons: [],
    estDurationMs: 1000,
    maxRetries: 0,
    timeoutMs: 60_000,
  };
}

/**
 * Writes one finished run through the store's own code (as the control plane does: run and jobs
 * inserted, each job finished, the run finished), at a given time. Returns the run id. `status`: the
 * run's final status (default passed); `'running'` leaves it open with its jobs done.
 */
export function seedFinishedRun(
  store: Store,
  run: {
    at: number;
    partner?: string;
    jobs: SeedJob[];
    changed?: string[];
    build?: string;
    baseBuild?: string;
    status?: RunStatus;
    /** Run options as the request had them (e.g. a budget). */
    options?: { budgetS?: number; confidence?: number };
  },
): string {
  const runId = `run-${randomUUID()}`;
  const request = runRequestSchema.parse({
    partner: run.partner ?? 'default',
    ...(run.build ? { build: run.build } : {}),
    ...(run.baseBuild ? { baseBuild: run.baseBuild } : {}),
    options: { changedComponents: run.changed ?? [], ...run.options },
  });
  store.transaction(() => {
    store.runs.insert({ id: runId, request, createdAt: run.at - 60_000, plan: null });
    const jobs = run.jobs.map((j, seq) => ({
      ...plannedJob(runId, seq, j.test, j.device, j.model),
      ...(j.score !== undefined ? { score: j.score } : {}),
      ...(j.estDurationMs !== undefined ? { estDurationMs: j.estDurationMs } : {}),
    }));
    store.jobs.insertMany(jobs, run.at - 60_000);
    jobs.forEach((job, i) => {
      const j = run.jobs[i]!;
      store.jobs.finish(job.id, {
        verdict: j.verdict,
        deviceId: j.device,
        durationMs: j.durationMs ?? 1000,
        signature: null,
        message: null,
        at: run.at - 1000 + i,
      });
    });
    if (run.status === 'running') store.runs.markStarted(runId, run.at - 60_000);
    else store.runs.finish(runId, run.status ?? 'passed', run.at);
  });
  return runId;
}
