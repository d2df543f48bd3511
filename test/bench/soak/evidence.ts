// The evidence checks, made once every run is finished while the agents are still up: no artifact an
// attempt made is lost (after the agents' spools drained), every execution of a test is an attempt or a
// recorded duplicate, and every outage ended with its part back.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import { retired } from './agents.ts';
import type { Chaos } from './chaos.ts';
import type { Check } from './checks.ts';
import { artifactsDir, execDir, home } from './lab.ts';
import { DEVICES_PER_AGENT } from './options.ts';
import type { Runs } from './runs.ts';
import { sleep } from './sleep.ts';

/** How long the agents' spools may take to drain after the last verdict (uploads retry with backoff ≤ 3 s). */
const SPOOL_DRAIN_MS = 60_000;

export type EvidenceFigures = Awaited<ReturnType<typeof evidenceChecks>>['figures'];

/** Files in the agents' spools (`<home>/spool/<host>/`). */
function spooled(): number {
  const root = path.join(home, 'spool');
  if (!existsSync(root)) return 0;
  return readdirSync(root).reduce((n, host) => n + readdirSync(path.join(root, host)).length, 0);
}

/** Names an attempt's artifact may have: `soak.txt`, or `soak.delivery-2.txt` from a second delivery. */
const named = (base: string, ext: string) => new RegExp(`^${base}(\\.delivery-\\d+)?\\.${ext}$`);
const SOAK_TXT = named('soak', 'txt');
const CONSOLE_LOG = named('console', 'log');

export async function evidenceChecks(server: ControlPlaneService, runs: Runs, chaos: Chaos) {
  const { runIds } = runs;
  const db = server.store.db;
  const inRuns = `run_id IN (${runIds.map(() => '?').join(',')})`;
  const checks: Check[] = [];

  // ---- artifacts: what each attempt that ran its test made, stored (file and row) ------------------------
  const drainStarted = Date.now();
  while (spooled() > 0 && Date.now() - drainStarted < SPOOL_DRAIN_MS) await sleep(250);
  const spoolLeft = spooled();
  const spoolDrainS = (Date.now() - drainStarted) / 1000;
  const attempts = db
    .prepare(`SELECT job_id AS jobId, attempt, status FROM attempts WHERE ${inRuns}`)
    .all(...runIds) as { jobId: string; attempt: number; status: string }[];
  const rows = db
    .prepare(`SELECT job_id AS jobId, attempt, name, state, path FROM artifacts WHERE ${inRuns}`)
    .all(...runIds) as { jobId: string; attempt: number; name: string; state: string; path: string }[];
  const byAttempt = new Map<string, typeof rows>();
  for (const r of rows) {
    const key = `${r.jobId}#${r.attempt}`;
    byAttempt.set(key, [...(byAttempt.get(key) ?? []), r]);
  }
  let expected = 0;
  const lost = { recordedLost: 0, noRow: 0, fileMissing: 0 };
  const lostList: string[] = [];
  for (const a of attempts) {
    // Only attempts that ran their test to its end: an infrastructure error may come before the test made anything.
    const wanted = a.status === 'passed' ? [SOAK_TXT] : a.status === 'failed' ? [SOAK_TXT, CONSOLE_LOG] : [];
    const mine = byAttempt.get(`${a.jobId}#${a.attempt}`) ?? [];
    for (const pattern of wanted) {
      expected++;
      const candidates = mine.filter((r) => pattern.test(r.name));
      const stored = candidates.find((r) => r.state === 'stored');
      let why: string | null = null;
      if (!stored) {
        why = candidates.length ? `recorded lost` : 'no row';
        if (candidates.length) lost.recordedLost++;
        else lost.noRow++;
      } else if (!existsSync(path.join(artifactsDir, stored.path))) {
        why = `file missing (${stored.path})`;
        lost.fileMissing++;
      }
      if (why) lostList.push(`${a.jobId} attempt ${a.attempt} ${pattern.source}: ${why}`);
    }
  }
  const artifactsLost = lost.recordedLost + lost.noRow + lost.fileMissing;
  checks.push({
    name: 'no artifact lost',
    ok: artifactsLost === 0 && spoolLeft === 0,
    detail: `${expected - artifactsLost}/${expected} expected artifacts stored (${rows.length} artifact rows), ${artifactsLost} lost (${lost.recordedLost} recorded lost, ${lost.noRow} never arrived, ${lost.fileMissing} without their file); spools drained in ${spoolDrainS.toFixed(1)} s, ${spoolLeft} file(s) left${lostList.length ? `; e.g. ${lostList.slice(0, 3).join(' | ')}` : ''}`,
  });

  // ---- executions: each one a test body started is an attempt or a recorded duplicate -------------------
  const duplicates = db
    .prepare(`SELECT payload_json AS p FROM events WHERE type = 'attempt.duplicate' AND ${inRuns}`)
    .all(...runIds)
    .map((r) => JSON.parse((r as { p: string }).p) as Record<string, unknown>);
  // An agent killed (SIGKILL, a SIGTERM that ran out of time, a crash) may have started tests it never
  // reported: at most its last DEVICES_PER_AGENT executions (one per session slot) were under way, and those
  // are excused (the lab cannot know of them); any other execution must be an attempt or a recorded duplicate.
  const killed = new Set([
    ...chaos.restarts.filter((r) => r.signal === 'SIGKILL' || r.forced).map((r) => r.pid),
    ...retired.filter((a) => a.crashed).map((a) => a.pid),
  ]);
  const jobOfTest = new Map(
    (
      db.prepare(`SELECT id, test_id AS testId FROM jobs WHERE ${inRuns}`).all(...runIds) as {
        id: string;
        testId: string;
      }[]
    ).map((j) => [j.testId, j.id]),
  );
  const executions = new Map<string, number>();
  const lastOfKilled = new Map<number, { jobId: string; at: number }[]>();
  let executionsTotal = 0;
  for (const name of readdirSync(execDir)) {
    const m = /^(soak\.t\d+)\.(\d+)\.(\d+)\./.exec(name);
    if (!m) continue;
    executionsTotal++;
    const jobId = jobOfTest.get(m[1]!) ?? m[1]!;
    executions.set(jobId, (executions.get(jobId) ?? 0) + 1);
    const pid = Number(m[2]);
    if (killed.has(pid))
      lastOfKilled.set(pid, [...(lastOfKilled.get(pid) ?? []), { jobId, at: Number(m[3]) }]);
  }
  const excused = new Map<string, number>();
  for (const list of lastOfKilled.values())
    for (const { jobId } of list.sort((a, b) => b.at - a.at).slice(0, DEVICES_PER_AGENT))
      excused.set(jobId, (excused.get(jobId) ?? 0) + 1);
  const executionsOfKilled = [...excused.values()].reduce((a, b) => a + b, 0);
  const attemptsOf = new Map<string, number>();
  for (const a of attempts) attemptsOf.set(a.jobId, (attemptsOf.get(a.jobId) ?? 0) + 1);
  const duplicatesOf = new Map<string, number>();
  for (const d of duplicates)
    duplicatesOf.set(String(d['jobId']), (duplicatesOf.get(String(d['jobId'])) ?? 0) + 1);
  const unseen: string[] = [];
  let unseenExecutions = 0;
  for (const [jobId, n] of executions) {
    const shown = (attemptsOf.get(jobId) ?? 0) + (duplicatesOf.get(jobId) ?? 0) + (excused.get(jobId) ?? 0);
    if (n > shown) {
      unseenExecutions += n - shown;
      unseen.push(
        `${jobId}: ${n} executions, ${attemptsOf.get(jobId) ?? 0} attempts, ${duplicatesOf.get(jobId) ?? 0} duplicates`,
      );
    }
  }
  checks.push({
    name: 'every execution is an attempt or a recorded duplicate',
    ok: unseenExecutions === 0,
    detail: `${executionsTotal} executions (up to ${executionsOfKilled} excused: the last ones of agents killed meanwhile), ${attempts.length} attempts, ${duplicates.length} duplicate execution(s) recorded, ${unseenExecutions} unseen${unseen.length ? `: ${unseen.slice(0, 3).join(' | ')}` : ''}`,
  });

  // ---- outages: each ended with its part back ------------------------------------------------------------
  const failedOutages = chaos.outages.filter((o) => o.error);
  checks.push({
    name: 'every outage ended, its part back',
    ok: failedOutages.length === 0,
    detail: `${chaos.outages.length} outage(s): ${
      chaos.outages
        .map((o) => `${o.kind}${o.mode ? ` ${o.mode}` : ''} ${(o.totalMs / 1000).toFixed(1)} s`)
        .join(', ') || 'none'
    }${failedOutages.length ? `; failed: ${failedOutages.map((o) => `#${o.index + 1} ${o.error}`).join(' | ')}` : ''}`,
  });

  return {
    checks,
    figures: {
      artifacts: {
        expected,
        stored: expected - artifactsLost,
        lost: artifactsLost,
        ...lost,
        rows: rows.length,
        recordedLostRows: rows.filter((r) => r.state === 'lost').length,
        spoolLeft,
        spoolDrainS: Math.round(spoolDrainS * 10) / 10,
        lostList: lostList.slice(0, 100),
      },
      executions: {
        total: executionsTotal,
        excusedOnKilledAgents: executionsOfKilled,
        unseen: unseenExecutions,
        unseenList: unseen.slice(0, 100),
      },
      duplicates: {
        count: duplicates.length,
        list: duplicates.slice(0, 100),
      },
    },
  };
}
