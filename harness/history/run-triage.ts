import type { HistoryState } from '../../analysis/features/state.ts';
import { type Cycle, pairKey } from '../../analysis/history/cycles.ts';
import { type Triage, triageFailure } from '../../analysis/triage/triage.ts';
import { TriageState, type TriageStateData } from '../../analysis/triage/triage-state.ts';
import { isTestFailure, type Verdict } from '../protocol/verdict.ts';

/** What triage needs of a job: a store row (JobRow) or a finished job of the history (FinishedJob). */
export interface TriageJob {
  testId: string;
  deviceId: string | null;
  pool: string;
  verdict: Verdict | null;
}

/** Triage of a run's jobs is kept for this many failed jobs in all (the oldest runs' go first). */
export const MAX_TRIAGED_JOBS = 50_000;

/** What a snapshot holds of the triage (format 3 on). */
export interface RunTriageData {
  trails: Map<string, TriageStateData>;
  byRun: Map<string, Map<string, Triage>>;
}

/** A job's failure as triage reads it, or null when it is no failure (passed, flaky, skipped, open). */
function outcomeOf(verdict: Verdict | null): 'fail' | 'error' | null {
  if (verdict === null) return null;
  if (isTestFailure(verdict)) return 'fail';
  return verdict === 'error' ? 'error' : null;
}

const keyOf = (job: TriageJob): string => pairKey(job.testId, job.deviceId ?? job.pool);

/**
 * Failure triage of runs (analysis/triage/triage.ts), kept by the lab history service: each partner's
 * trails (its own runs only), and the triage of each revealed run's failures as it was decided from the
 * history before that run, just before the run joined it. A run still open is triaged on request from
 * the history as it is, which does not hold the run yet: the same answer it gets once revealed. Nothing
 * here reads the store; every answer is O(failed jobs of the run).
 */
export class RunTriage {
  private trails = new Map<string, TriageState>();
  private byRun = new Map<string, Map<string, Triage>>();
  private jobs = 0;

  snapshot(): RunTriageData {
    return {
      trails: new Map([...this.trails].map(([partner, t]) => [partner, t.snapshot()])),
      byRun: this.byRun,
    };
  }

  restore(data: RunTriageData): void {
    this.trails = new Map([...data.trails].map(([partner, t]) => [partner, TriageState.restore(t)]));
    this.byRun = data.byRun;
    this.jobs = [...this.byRun.values()].reduce((n, m) => n + m.size, 0);
  }

  /** `partner`'s trails (an empty one for a partner without runs: not kept). */
  private trailsOf(partner: string): TriageState {
    return this.trails.get(partner) ?? new TriageState();
  }

  /**
   * A run about to join `partner`'s history: its failures are triaged from `before` (the partner's state
   * without the run) and kept; then the run joins the partner's trails.
   */
  reveal(
    partner: string,
    before: HistoryState,
    runId: string,
    cycle: Cycle | null,
    jobs: readonly TriageJob[],
    baseBuild: string | undefined,
  ): void {
    let trails = this.trails.get(partner);
    if (!trails) {
      trails = new TriageState();
      this.trails.set(partner, trails);
    }
    const triaged = this.triage(before, trails, jobs, baseBuild);
    if (triaged.size > 0) {
      this.byRun.delete(runId);
      this.byRun.set(runId, triaged);
      this.jobs += triaged.size;
      while (this.jobs > MAX_TRIAGED_JOBS && this.byRun.size > 1) {
        const [oldest, list] = this.byRun.entries().next().value as [string, Map<string, Triage>];
        this.byRun.delete(oldest);
        this.jobs -= list.size;
      }
    }
    if (cycle) trails.update(cycle);
  }

  /** The kept triage of a revealed run's failures, by (test, device); undefined when none is kept. */
  revealed(runId: string): ReadonlyMap<string, Triage> | undefined {
    return this.byRun.get(runId);
  }

  /** Triage of a run not revealed yet, from `partner`'s history as it is now. */
  live(
    partner: string,
    state: HistoryState,
    jobs: readonly TriageJob[],
    baseBuild: string | undefined,
  ): Map<string, Triage> {
    return this.triage(state, this.trailsOf(partner), jobs, baseBuild);
  }

  private triage(
    state: HistoryState,
    trails: TriageState,
    jobs: readonly TriageJob[],
    baseBuild: string | undefined,
  ): Map<string, Triage> {
    const out = new Map<string, Triage>();
    for (const job of jobs) {
      const outcome = outcomeOf(job.verdict);
      if (outcome === null) continue;
      const device = job.deviceId ?? job.pool;
      out.set(keyOf(job), triageFailure({ test: job.testId, device, outcome, baseBuild }, state, trails));
    }
    return out;
  }
}

/** The triage of each failed job of `jobs` (by job id) from a run's triage by (test, device). */
export function triageByJob<J extends TriageJob & { id: string }>(
  jobs: readonly J[],
  triage: ReadonlyMap<string, Triage>,
): Map<string, Triage> {
  const out = new Map<string, Triage>();
  for (const job of jobs) {
    if (outcomeOf(job.verdict) === null) continue;
    const t = triage.get(keyOf(job));
    if (t) out.set(job.id, t);
  }
  return out;
}
