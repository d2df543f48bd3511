import {
  CALIBRATION_WINDOW,
  RecallCalibrator,
  type RecallCut,
} from '../../analysis/evaluation/confidence.ts';
import { HistoryState } from '../../analysis/features/state.ts';
import type { TestHistoryAccessor } from '../../suites/query/history.ts';
import type { EventBus } from '../server/event-bus.ts';
import type { Triage } from '../../analysis/triage/triage.ts';
import type { FinishedJob, HistoryBounds } from '../store/history-repo.ts';
import type { JobRow } from '../store/jobs-repo.ts';
import { isRunOver, type RunHeader } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { type ComponentMap, changedComponents, componentMatcher } from './change-components.ts';
import { DurationStats } from './duration-stats.ts';
import { runCycle } from './history-rows.ts';
import { readSnapshot, writeSnapshot, type HistorySnapshot, SNAPSHOT_FORMAT } from './history-snapshot.ts';
import { ALL_PARTNERS } from '../protocol/all-partners.ts';
import { QueryStats } from './query-stats.ts';
import { runRecallEntries } from './recall-calibration.ts';
import { RunTriage, triageByJob } from './run-triage.ts';

/** The one history window of a lab (config `history`). */
export interface HistoryWindow {
  windowDays: number;
  maxRows: number;
}

const DAY_MS = 24 * 3600_000;

/** How the service came back at start: from its snapshot plus what finished since, or by a replay. */
export interface HistoryLoad {
  source: 'snapshot' | 'replay';
  /** Runs revealed to the ranking and jobs recorded, from the store (the snapshot's tail, or everything). */
  runs: number;
  rows: number;
  ms: number;
  /** Why the snapshot was not used (replay only). */
  note?: string;
}

export interface LabHistoryOptions {
  log?: (line: string) => void;
  now?: () => number;
  /** Where the service keeps its snapshot (`<home>/history/snapshot.bin`); none: always replay. */
  snapshotFile?: string;
  /** The config's path -> component map: a run's changed paths join its cycle's changed components. */
  components?: ComponentMap;
}

/**
 * The lab's history as the control plane reads it, kept incrementally and never rebuilt on a request:
 *
 * - `state`: the analysis history state the ranking scores from (a run is a cycle, revealed when the
 *   run finishes), lab-wide: the scores learn from every partner's results;
 * - per partner, the same state over that partner's own runs only: what the reasons a partner reads are
 *   explained from (`reasonState`), so that they never reflect another partner's results;
 * - `durations`: mean run time per test and pool (budgets, duration order), from each finished job;
 * - `queries`: the query language's history fields, per partner and lab-wide, from each finished job;
 * - `runTriage`: the failure triage of each run (new, known, flaky, infrastructure), decided from its
 *   partner's history just before the run joins it (`triageRun`).
 *
 * At start it replays the newest finished runs (at most `maxRows` jobs within `windowDays`); afterwards
 * it follows the control plane's events. Its memory grows with the lab's partners × tests × devices,
 * not with the number of jobs. Infrastructure errors never count as failures (harness/protocol/verdict.ts).
 */
export class LabHistory {
  /** Replaced as a whole only by `load` (a snapshot); updated in place by each finished run. */
  state = new HistoryState();
  /** Each partner's own runs as a history state (reasons); replaced as a whole only by `load`. */
  private partnerStates = new Map<string, HistoryState>();
  /** What a partner without any finished run is explained from: never updated. */
  private readonly noHistory = new HistoryState();
  readonly durations = new DurationStats();
  readonly queries: QueryStats;
  /** Replaced only by `load` (a snapshot). */
  readonly runTriage = new RunTriage();
  /** Where earlier runs' failing jobs entered their order: the cut `--confidence` makes (recall-calibration.ts). */
  private recall = new RecallCalibrator();
  lastLoad: HistoryLoad = { source: 'replay', runs: 0, rows: 0, ms: 0 };
  /** Rankings in progress: while any holds the state, finished runs wait to be revealed. */
  private holds = 0;
  private readonly waiting: FinishedJob[][] = [];
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly matchPaths: ((paths: readonly string[]) => string[]) | undefined;

  constructor(
    private readonly store: Store,
    readonly window: HistoryWindow,
    private readonly options: LabHistoryOptions = {},
  ) {
    this.log = options.log ?? (() => {});
    this.now = options.now ?? Date.now;
    this.queries = new QueryStats(window.windowDays * DAY_MS, this.now);
    const map = options.components;
    this.matchPaths = map && Object.keys(map).length > 0 ? componentMatcher(map) : undefined;
  }

  /** What a replay of the store reads: the window, newest `maxRows` rows. */
  bounds(): HistoryBounds {
    return { sinceMs: this.now() - this.window.windowDays * DAY_MS, maxRows: this.window.maxRows };
  }

  /**
   * Start-up: the snapshot plus what finished after it, when there is a usable one; else a replay of the
   * store: finished runs oldest first, then the finished jobs of runs still open (history fields see them;
   * the ranking sees a run once it is over).
   */
  load(): HistoryLoad {
    const t0 = performance.now();
    const snapshot = this.options.snapshotFile ? readSnapshot(this.options.snapshotFile) : 'no snapshot file';
    const unusable = typeof snapshot === 'string' ? snapshot : this.unusable(snapshot);
    let load: Omit<HistoryLoad, 'ms'>;
    if (unusable === null) {
      load = this.restore(snapshot as HistorySnapshot);
    } else {
      load = { ...this.replay(), note: unusable };
    }
    this.lastLoad = { ...load, ms: Math.round(performance.now() - t0) };
    return this.lastLoad;
  }

  /**
   * Writes the service's state with the moment it holds everything up to (graceful stop; at start a
   * server reads it and replays only what finished after). Synchronous: the state cannot change meanwhile.
   */
  saveSnapshot(): number {
    if (!this.options.snapshotFile) return 0;
    return writeSnapshot(this.options.snapshotFile, {
      format: SNAPSHOT_FORMAT,
      upToMs: this.now(),
      windowDays: this.window.windowDays,
      maxRows: this.window.maxRows,
      state: this.state.snapshot(),
      partnerStates: new Map([...this.partnerStates].map(([partner, state]) => [partner, state.snapshot()])),
      queries: this.queries.snapshot(),
      durations: this.durations.snapshot(),
      triage: this.runTriage.snapshot(),
      recall: this.recall.entries(),
    });
  }

  /** Why a snapshot cannot stand for the store's history (null: it can). */
  private unusable(s: HistorySnapshot): string | null {
    if (s.windowDays !== this.window.windowDays || s.maxRows !== this.window.maxRows)
      return 'the snapshot was taken with another history window';
    if (s.upToMs < this.bounds().sinceMs) return 'the snapshot is older than the history window';
    if (s.upToMs > this.now()) return 'the snapshot is from the future (clock change)';
    if (this.store.history.countJobsFinishedAfter(s.upToMs) > this.window.maxRows)
      return 'more jobs finished after the snapshot than the history keeps';
    return null;
  }

  private restore(s: HistorySnapshot): Omit<HistoryLoad, 'ms'> {
    this.state = HistoryState.restore(s.state);
    this.partnerStates = new Map(
      [...s.partnerStates].map(([partner, data]) => [partner, HistoryState.restore(data)]),
    );
    this.queries.restore(s.queries);
    this.durations.restore(s.durations);
    this.runTriage.restore(s.triage);
    this.recall = new RecallCalibrator(CALIBRATION_WINDOW, s.recall);
    let rows = 0;
    for (const job of this.store.history.jobsFinishedAfter(s.upToMs)) {
      this.recordJob(job);
      rows++;
    }
    const runs = this.store.history.runsFinishedAfter(s.upToMs);
    for (const runId of runs) this.revealRun(this.store.history.runJobs(runId));
    return { source: 'snapshot', runs: runs.length, rows };
  }

  private replay(): Omit<HistoryLoad, 'ms'> {
    let runs = 0;
    let rows = 0;
    for (const jobs of this.store.history.finishedRuns(this.bounds())) {
      for (const job of jobs) this.recordJob(job);
      this.revealRun(jobs);
      runs++;
      rows += jobs.length;
    }
    for (const runId of this.store.history.openRunIds()) {
      for (const job of this.store.history.runJobs(runId)) {
        this.recordJob(job);
        rows++;
      }
    }
    return { source: 'replay', runs, rows };
  }

  /** Follows the control plane: each finished job, each finished or cancelled run (after their commit). */
  follow(events: EventBus): () => void {
    return events.subscribe((event) => {
      try {
        if (event.type === 'job.finished') {
          const job = this.store.history.job(String(event.payload['jobId']));
          if (job) this.recordJob(job);
        } else if (event.type === 'run.finished' || event.type === 'run.cancelled') {
          this.revealRun(this.store.history.runJobs(event.runId));
        }
      } catch (err) {
        // The store committed the result; only this view of it lags until the next start.
        this.log(`history update failed for ${event.type} of run ${event.runId}: ${(err as Error).message}`);
      }
    });
  }

  /** A finished job: the history fields and the duration estimates. */
  recordJob(job: FinishedJob): void {
    this.queries.record(job);
    this.durations.record(job);
  }

  /**
   * A run that is over: one cycle of the ranking's lab-wide history state and of its partner's own
   * (after the rankings holding them). A run belongs to one partner.
   */
  revealRun(jobs: readonly FinishedJob[]): void {
    if (this.holds > 0) {
      this.waiting.push([...jobs]);
      return;
    }
    const first = jobs[0];
    if (!first) return;
    this.recall.record(runRecallEntries(jobs));
    const cycle = runCycle(jobs);
    if (cycle) cycle.changed = this.changedOfRun(first.runId, cycle.changed);
    const partner = first.partner;
    let own = this.partnerStates.get(partner);
    // Its failures are triaged from the partner's history before it (an error-only run too), then it joins.
    this.runTriage.reveal(partner, own ?? this.noHistory, first.runId, cycle, jobs, first.baseBuild);
    if (!cycle) return;
    this.state.update(cycle);
    if (!own) {
      own = new HistoryState();
      this.partnerStates.set(partner, own);
    }
    own.update(cycle);
  }

  /** Where `--confidence` cuts, from where the failing jobs of earlier runs entered their order. */
  recallCut(confidence: number): RecallCut {
    return this.recall.cut(confidence);
  }

  /**
   * The components a run's change touched: those it named (already in its jobs), and those its changed
   * paths map to by the config (one row by id, read only when the config maps any path).
   */
  private changedOfRun(runId: string, named: string[]): string[] {
    if (!this.matchPaths) return named;
    try {
      const paths = this.store.runs.header(runId)?.request.change?.changedPaths;
      return changedComponents(named, paths, this.matchPaths);
    } catch (err) {
      // The run still joins the history, with the components its request named.
      this.log(
        `history of run ${runId}: its request is unreadable, changed paths not mapped: ${(err as Error).message}`,
      );
      return named;
    }
  }

  /**
   * Failure triage of a run's failed jobs, by job id: as kept when the run joined its partner's history,
   * or, for a run not revealed yet, from that history as it is now (which does not hold the run). A run
   * revealed without a kept triage (older than what the service holds) gets none. O(jobs), no store read.
   */
  triageRun(
    run: Pick<RunHeader, 'id' | 'partner' | 'status' | 'request'>,
    jobs: readonly JobRow[],
  ): Map<string, Triage> {
    const kept = this.runTriage.revealed(run.id);
    if (kept) return triageByJob(jobs, kept);
    const waiting = this.waiting.some((js) => js[0]?.runId === run.id);
    if (isRunOver(run.status) && !waiting) return new Map();
    const live = this.runTriage.live(run.partner, this.reasonState(run.partner), jobs, run.request.baseBuild);
    return triageByJob(jobs, live);
  }

  /**
   * The history state the reasons `partner` reads are explained from: its own runs only, or the whole
   * lab's with ALL_PARTNERS (admins). A partner with no finished run gets an empty history. O(1).
   */
  reasonState(partner: string): HistoryState {
    if (partner === ALL_PARTNERS) return this.state;
    return this.partnerStates.get(partner) ?? this.noHistory;
  }

  /**
   * Keeps the ranking's state as it is until the returned release is called: a ranking scored in slices
   * (with the event loop turning in between) reads one state from its first pair to its last.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0) for (const jobs of this.waiting.splice(0)) this.revealRun(jobs);
    };
  }

  /** The history fields as `partner` reads them (its own results), or lab-wide with ALL_PARTNERS (admins). */
  queryHistory(partner: string = ALL_PARTNERS): TestHistoryAccessor {
    return this.queries.accessor(partner);
  }
}
