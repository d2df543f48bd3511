import type { RecallCut } from '../../analysis/evaluation/confidence.ts';
import type { RunChange } from '../protocol/run-request.ts';

/** One (test, device) pair to score; a pool is scored through one of its devices. */
export interface RankPair {
  testId: string;
  component: string;
  deviceId: string;
  model: string;
  firmware: string;
  platform: string;
}

export interface RankScore {
  /** Predicted probability that the test fails on the device. */
  probability: number;
  /** Human-readable reasons, most important first. */
  reasons: string[];
}

/**
 * Scores pairs for ordering; the analysis model or, until one is trusted, a history heuristic. A ranker
 * of many pairs answers asynchronously, scoring in slices so that the event loop keeps turning.
 */
export interface Ranker {
  readonly name: string;
  score(pairs: readonly RankPair[], context: RankContext): RankScore[] | Promise<RankScore[]>;
  /**
   * Where `--confidence` cuts, learned from the lab's earlier runs (harness/history/recall-calibration.ts);
   * absent for a ranker that keeps no history (the cut is then the confidence itself, uncalibrated).
   */
  recallCut?(confidence: number): RecallCut;
}

/** What a ranking knows of the run it orders. */
export interface RankContext {
  /** Components the change under test touched, as the request names them. */
  changedComponents: readonly string[];
  /** The change under test; its changed paths are mapped to components by the ranker's config. */
  change?: RunChange;
  /** The build the change under test is based on (the request's `baseBuild`): failures on it are not the change's. */
  baseBuild?: string;
  /**
   * Whose results the reasons may reflect: the partner the plan is for (its own runs only), or `'*'`
   * (ALL_PARTNERS, harness/history/query-stats.ts) for the whole lab (admins). Scores may learn from every
   * partner's results; the texts a partner reads never name another partner's.
   */
  historyPartner: string;
}

/** Expected run time of a test on a pool, from history; used for budgets and duration ordering. */
export interface DurationEstimator {
  estimateMs(testId: string, pool: string, fallbackMs: number): number;
}
