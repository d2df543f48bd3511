// The end checks: every job has exactly one final verdict, no lease, queued attempt or unfinished run is
// left, every restart worked, and no agent process (or a browser it started) outlived it.
import { isRunOver } from '../../../harness/store/runs-repo.ts';
import { Queue } from 'bullmq';
import type { ControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import { labKeys, poolQueueName } from '../../../harness/queue/names.ts';
import { reportStreamCounts } from '../../../harness/queue/report-stream.ts';
import { scanKeys } from '../../support/redis-keys.ts';
import { unexpectedExits } from './agents.ts';
import type { Chaos, RestartRecord, RestartStep } from './chaos.ts';
import { prefix, redis } from './lab.ts';
import { JOBS, LEASE_TTL_MS, RUNS, TIMEOUT_MS } from './options.ts';
import type { Runs } from './runs.ts';
import { sleep } from './sleep.ts';
import { EXPECTED, kindOf } from './suite.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export type EndChecks = Awaited<ReturnType<typeof endChecks>>;

/** The checks made once every run is finished, while the agents are still up. */
export async function endChecks(
  server: ControlPlaneService,
  runs: Runs,
  timedOut: boolean,
  plan: RestartStep[],
  chaos: Chaos,
) {
  const { runIds } = runs;
  const { restarts, chaosErrors } = chaos;
  // ---- checks (agents still up) ---------------------------------------------------------------------
  const checks: Check[] = [];
  const db = server.store.db;
  const inRuns = `run_id IN (${runIds.map(() => '?').join(',')})`;
  const runRows = runIds.map((id) => server.store.runs.get(id)!);
  const unfinished = runRows.filter((r) => !isRunOver(r.status));
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
  return { checks, jobs, attemptStats, runRows };
}

/** After the final stop: nothing an agent started outlived it (during the soak or at its end). */
export function leftoverCheck(restarts: RestartRecord[], leftover: string[]): Check {
  const duringSoak = restarts.flatMap((r) =>
    r.leftoverProcesses.map((p) => `${p} after ${r.signal} #${r.index + 1}`),
  );
  return {
    name: 'no process left behind by an agent',
    ok: leftover.length === 0 && duringSoak.length === 0,
    detail: `${duringSoak.length} process(es) outlived a restarted agent, ${leftover.length} left at the end (killed by pid)${duringSoak.length + leftover.length ? `: ${[...duringSoak, ...leftover].slice(0, 6).join(', ')}` : ''}`,
  };
}
