// The runs of the soak: submitted two at once as jobs get done, and waited for.
import { isRunOver } from '../../../harness/store/runs-repo.ts';
import { loadavg } from 'node:os';
import { retired, slots, startAgent } from './agents.ts';
import { state, withServer } from './lab.ts';
import { describeOpen, memNow, type Progress } from './monitor.ts';
import { JOBS, PARTNERS, PER_RUN, PRIORITIES, RUNS, TIMEOUT_MS } from './options.ts';
import { sleep } from './sleep.ts';

/** The submitted runs; shared by the submitter, the restarts and the wait. */
export interface Runs {
  readonly runIds: string[];
  /** When the first run was submitted. */
  readonly t0: number;
  /** Every run is finished (or the soak timed out): the submitter and the restarts stop. */
  allDone: boolean;
  submitError: unknown;
  /** A part an outage took away did not come back: the soak cannot finish (it fails at once). */
  fatalError: Error | null;
}

// Runs: two at once, each next one when the one before the last is done, so new work keeps arriving.
export function submitRuns(progress: Progress): { runs: Runs; submitter: Promise<void> } {
  const runIds: string[] = [];
  const t0 = Date.now();
  const submit = async (k: number) => {
    // Not while the control plane is restarted; its restart waits for a submit under way.
    const { run, plan: runPlan } = await withServer((server) =>
      server.controlPlane.submit({
        query: `tag:soak-g${k}`,
        partner: PARTNERS[k % PARTNERS.length]!,
        priority: PRIORITIES[k % PRIORITIES.length]!,
        build: `soak-build-${k}`,
      }),
    );
    runIds.push(run.id);
    const expected = Math.min(PER_RUN, JOBS - k * PER_RUN);
    if (runPlan.jobs.length !== expected)
      throw new Error(`run ${k} planned ${runPlan.jobs.length} jobs, expected ${expected}`);
  };
  const runs: Runs = { runIds, t0, allDone: false, submitError: null, fatalError: null };
  const submitter = (async () => {
    for (let k = 0; k < RUNS; k++) {
      while (k >= 2 && progress.finished < (k - 1) * PER_RUN && !runs.allDone) await sleep(100);
      if (runs.allDone) return;
      await submit(k);
    }
  })().catch((err: unknown) => {
    runs.submitError = err;
  });
  return { runs, submitter };
}

/**
 * Waits for every run to finish; progress every 15 s, and what the open jobs wait for when it stalls.
 * Null when the soak was interrupted; else whether it timed out, and the seconds from the first submit
 * to the last verdict.
 */
export async function waitForRuns(
  runs: Runs,
  progress: Progress,
): Promise<{ timedOut: boolean; durationS: number } | null> {
  const { runIds, t0 } = runs;
  let timedOut = false;
  let lastProgress = Date.now();
  let lastFinished = -1;
  let stalledSince = Date.now();
  while (true) {
    if (state.interrupted) return null;
    if (runs.submitError) throw runs.submitError;
    if (runs.fatalError) throw runs.fatalError;
    if (progress.finished !== lastFinished) {
      lastFinished = progress.finished;
      stalledSince = Date.now();
    }
    // A control-plane outage: nothing to read until it is back (the timeout still counts).
    const server = state.server;
    if (!server) {
      if (Date.now() - t0 > TIMEOUT_MS) {
        timedOut = true;
        break;
      }
      await sleep(200);
      continue;
    }
    if (Date.now() - lastProgress > 15_000) {
      lastProgress = Date.now();
      process.stderr.write(
        `soak: ${progress.finished}/${JOBS} jobs done after ${((Date.now() - t0) / 1000).toFixed(0)} s, control plane rss ${memNow(false).rssMiB} MiB, load ${loadavg()[0]!.toFixed(1)}\n`,
      );
      if (Date.now() - stalledSince > 30_000) process.stderr.write(await describeOpen(server, runIds));
    }
    const open = runIds.filter((id) => {
      const status = server.store.runs.get(id)?.status;
      return status !== undefined && !isRunOver(status);
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
      await startAgent(i).catch((err: unknown) =>
        process.stderr.write(`soak: ${agent.host} could not be started again: ${String(err)}\n`),
      );
    }
    await sleep(200);
  }
  // Once the chaos is over (a control-plane outage may be under way at the timeout).
  const server = await withServer((s) => s);
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
  return { timedOut, durationS };
}
