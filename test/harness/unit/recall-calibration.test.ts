import { describe, expect, it } from 'vitest';
import { RecallCalibrator } from '../../../analysis/evaluation/confidence.ts';
import { runRecallEntries } from '../../../harness/history/recall-calibration.ts';
import { selectForConfidence } from '../../../harness/planner/budget.ts';
import type { FinishedJob } from '../../../harness/store/history-repo.ts';

const job = (
  testId: string,
  verdict: FinishedJob['verdict'],
  score: number | null,
  estDurationMs: number | null,
): FinishedJob => ({
  runId: 'run-1',
  partner: 'p',
  runCreatedAt: 0,
  build: 'b1',
  changed: [],
  testId,
  component: 'player',
  pool: 'pool-1',
  deviceId: 'tv-1',
  model: 'M1',
  firmware: '1.0',
  platform: 'tizen',
  verdict,
  durationMs: 1000,
  signature: null,
  finishedAt: 0,
  score,
  estDurationMs,
});

describe('where a run’s failing jobs entered its plan’s order (what --confidence learns from)', () => {
  it('is the predicted recall reached before each failing job, in risk-per-second order', () => {
    // Order by risk per second: a (0.5/s), c (0.2/s), b (0.1/s), d (0.05/s); total risk 1.
    const jobs = [
      job('b', 'failed', 0.2, 2000),
      job('a', 'passed', 0.5, 1000),
      job('c', 'timed-out', 0.2, 1000),
      job('d', 'failed', 0.1, 2000),
      // An infrastructure error is neither a failure nor a pass: not in the order at all.
      job('e', 'error', 0.9, 100),
    ];
    const entries = runRecallEntries(jobs);
    // c entered after a (0.5), b after a + c (0.7), d after a + c + b (0.9).
    expect(entries.map((v) => Number(v.toFixed(6)))).toEqual([0.7, 0.5, 0.9]);
  });

  it('learns nothing from a run some of whose jobs never ran, or whose plan kept no scores', () => {
    const cut = [job('a', 'failed', 0.5, 1000), job('b', 'passed', 0.5, 1000)].map((j) => ({
      ...j,
      runCut: true,
    }));
    expect(runRecallEntries(cut)).toEqual([]);
    expect(runRecallEntries([job('a', 'failed', null, null), job('b', 'passed', 0.5, 1000)])).toEqual([]);
    expect(runRecallEntries([])).toEqual([]);
  });

  it('says a failure planned with no risk to go by entered at the end (1), as the evaluation does', () => {
    const unranked = [job('a', 'failed', 0, 1000), job('b', 'passed', 0, 1000), job('c', 'failed', 0, 500)];
    expect(runRecallEntries(unranked)).toEqual([1, 1]);
    expect(runRecallEntries([job('a', 'passed', 0.5, 1000)])).toEqual([]);
  });
});

describe('--confidence cuts where earlier runs found their failures', () => {
  const jobs = [
    { id: 'a', score: 0.6, estDurationMs: 3000 },
    { id: 'b', score: 0.3, estDurationMs: 1000 },
    { id: 'c', score: 0.1, estDurationMs: 1000 },
  ];

  it('at the learned threshold, not at the confidence itself', () => {
    // b enters at 0, a at 0.3, c at 0.9. Earlier runs' failures had all entered by 0.3, so c is left out;
    // a cut at the confidence itself (0.95) would have kept it.
    const learned = new RecallCalibrator(
      500,
      Array.from({ length: 40 }, (_, i) => (i % 2 ? 0.3 : 0.05)),
    );
    const cut = selectForConfidence(jobs, 0.95, learned.cut(0.95));
    expect(cut.selected.map((j) => j.id)).toEqual(['b', 'a']);
    expect(cut.skipped[0]!.reason).toMatch(
      /confidence 0.95: .*predicted recall of 90.0% \(the cut at 30.0% learned from 40 failing jobs/,
    );
    const late = new RecallCalibrator(
      500,
      Array.from({ length: 40 }, () => 0.9),
    );
    expect(selectForConfidence(jobs, 0.95, late.cut(0.95)).selected.map((j) => j.id)).toEqual([
      'b',
      'a',
      'c',
    ]);
  });

  it('keeps every job while too few earlier failures were seen to learn a cut', () => {
    const few = new RecallCalibrator(500, [0.1, 0.2]);
    expect(few.cut(0.95)).toEqual({ confidence: 0.95, threshold: Number.POSITIVE_INFINITY, failures: 2 });
    const cut = selectForConfidence(jobs, 0.95, few.cut(0.95));
    expect(cut.selected).toHaveLength(3);
    expect(cut.skipped).toHaveLength(0);
  });

  it('keeps only the newest failures, and gives them back for a snapshot', () => {
    const c = new RecallCalibrator(3, [0.1, 0.2]);
    c.record([0.3, 0.4]);
    expect(c.entries()).toEqual([0.2, 0.3, 0.4]);
    expect(new RecallCalibrator(3, c.entries()).cut(0.5).failures).toBe(3);
  });
});
