import { everFlaky } from '../features/flakiness.ts';
import { comparePairs, groupCycles } from '../history/cycles.ts';
import type { HistoryRow } from '../history/row.ts';
import { HistoryState, type PairQuery } from '../features/state.ts';
import type { FailureModel } from '../model/failure-model.ts';
import { type RankedPair, rankedBy, rankPairs } from '../ranking/rank.ts';
import type { CalibrationBin } from '../evaluation/write.ts';

/** The part of an evaluation the report shows (what metrics.json holds). */
export interface ReportEvaluation {
  summary: Record<string, Record<string, number>>;
  perCycle: { cycle: string; failing: number; metrics: Record<string, { apfd: number } | undefined> }[];
  calibration: CalibrationBin[];
}

export interface ReportInput {
  title?: string;
  /** Lab history (from a file or, later, from the store). */
  rows?: readonly HistoryRow[];
  /** A trained model; without one the ranking falls back to the history heuristics. */
  model?: FailureModel | null;
  evaluation?: ReportEvaluation;
  /** Pairs to score when there is no history (e.g. from an evaluation's last rankings). */
  scores?: { test: string; device: string; score: number }[];
}

/** A test that is flaky on one device (analysis/features/flakiness.ts). */
export interface FlakyPair {
  test: string;
  device: string;
  runs: number;
  failures: number;
  /** Runs that failed, then passed on a retry. */
  retried: number;
  /** Verdict flips between consecutive runs of the same build on this device. */
  flips: number;
  /** (retried + flips) / runs. */
  flakyRate: number;
}

export interface ReportData {
  title: string;
  generatedAt: string;
  risk: RankedPair[];
  /** What the risk scores come from: the model once trusted, else the failure record (see rank.ts). */
  rankedBy: string;
  /** Flaky (test, device) pairs, most flaky first. */
  flaky: FlakyPair[];
  evaluation?: ReportEvaluation;
}

/**
 * The flaky (test, device) pairs of a history: a retry that passed after a failure, or two flips on
 * the same build, on that device. A test failing on one device and passing on others is not here.
 */
export function flakyPairs(state: HistoryState, pairs: Iterable<PairQuery>, limit = 30): FlakyPair[] {
  const out: FlakyPair[] = [];
  for (const q of pairs) {
    const s = state.get('pair', state.keysOf(q).pair);
    if (!s || !everFlaky(s)) continue;
    out.push({
      test: q.test,
      device: q.device,
      runs: s.runs,
      failures: s.fails,
      retried: s.retryFlakes,
      flips: s.flips,
      flakyRate: (s.retryFlakes + s.flips) / s.runs,
    });
  }
  return out.sort((a, b) => b.flakyRate - a.flakyRate || comparePairs(a, b)).slice(0, limit);
}

/** Computes everything the report shows; the HTML renderer only formats it. */
export function buildReportData(input: ReportInput): ReportData {
  let risk: RankedPair[] = [];
  let flaky: FlakyPair[] = [];
  if (input.rows && input.rows.length > 0) {
    const state = new HistoryState();
    const latest = new Map<string, PairQuery>();
    const deviceInfo = new Map<string, { deviceModel?: string; firmware?: string }>();
    for (const c of groupCycles(input.rows)) {
      state.update(c);
      for (const p of c.pairs) {
        const q: PairQuery = { test: p.test, device: p.device };
        if (p.component) q.component = p.component;
        latest.set(`${p.test}\u0000${p.device}`, q);
        deviceInfo.set(p.device, { deviceModel: p.deviceModel, firmware: p.firmware });
      }
    }
    const pairs = [...latest.values()].map((q) => {
      const info = deviceInfo.get(q.device);
      const full: PairQuery = { ...q };
      if (info?.deviceModel) full.deviceModel = info.deviceModel;
      if (info?.firmware) full.firmware = info.firmware;
      return full;
    });
    risk = rankPairs(state, input.model ?? null, pairs, {}, { reasonsFor: 500 });
    flaky = flakyPairs(state, latest.values());
  } else if (input.scores) {
    risk = [...input.scores]
      .sort((a, b) => b.score - a.score)
      .map((s) => ({ test: s.test, device: s.device, probability: s.score, reasons: [] }));
  }
  const data: ReportData = {
    title: input.title ?? 'devlab failure-risk report',
    generatedAt: new Date().toISOString(),
    risk,
    rankedBy:
      input.rows && input.rows.length > 0 ? rankedBy(input.model ?? null) : "the evaluation's last ranking",
    flaky,
  };
  if (input.evaluation) data.evaluation = input.evaluation;
  return data;
}
