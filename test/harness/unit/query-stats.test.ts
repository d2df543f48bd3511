import { describe, expect, it } from 'vitest';
import { type QueryJob, QueryStats } from '../../../harness/history/query-stats.ts';

const DAY = 24 * 3600_000;
const NOW = 1000 * DAY;

const job = (
  runId: string,
  testId: string,
  deviceId: string,
  verdict: QueryJob['verdict'],
  extra: Partial<QueryJob> = {},
): QueryJob => ({
  runId,
  partner: 'p1',
  testId,
  deviceId,
  model: deviceId === 'tv-2' ? 'M2' : 'M1',
  platform: 'tizen',
  verdict,
  finishedAt: NOW - DAY,
  ...extra,
});

function statsOf(jobs: QueryJob[], windowDays = 90): QueryStats {
  const stats = new QueryStats(windowDays * DAY, () => NOW);
  for (const j of jobs) stats.record(j);
  return stats;
}

describe('QueryStats (the query language history fields, kept incrementally)', () => {
  const history = statsOf([
    job('r1', 't', 'tv-1', 'failed'),
    job('r1', 't', 'tv-2', 'passed'),
    job('r2', 't', 'tv-1', 'flaky'),
    job('r2', 't', 'tv-2', 'passed'),
    job('r3', 't', 'tv-1', 'passed'),
    job('r3', 't', 'tv-2', 'passed'),
  ]).accessor();

  it('answers per test and per scope', () => {
    expect(history.failRate('t')).toBeCloseTo(1 / 6);
    expect(history.failRate('t', { device: 'tv-1' })).toBeCloseTo(1 / 3);
    expect(history.failRate('t', { model: 'M2' })).toBe(0);
    expect(history.lastVerdict('t')).toBe('passed');
    expect(history.lastVerdict('t', { device: 'tv-1' })).toBe('passed');
    expect(history.isFlaky('t')).toBe(true);
    expect(history.failRate('unknown')).toBeUndefined();
    expect(history.failRate('t', { device: 'tv-9' })).toBeUndefined();
  });

  it('counts failed_in_last by runs, not by device jobs', () => {
    expect(history.failedInLast('t', 2)).toBe(false);
    expect(history.failedInLast('t', 3)).toBe(true);
    expect(history.failedInLast('t', 3, { model: 'M2' })).toBe(false);
  });

  it('never counts an infrastructure error as a failure', () => {
    const h = statsOf([
      job('r1', 't', 'tv-1', 'error'),
      job('r2', 't', 'tv-1', 'error'),
      job('r3', 't', 'tv-1', 'passed'),
      job('r4', 't', 'tv-1', 'error'),
    ]).accessor();
    expect(h.failRate('t')).toBe(0);
    expect(h.failedInLast('t', 4)).toBe(false);
    expect(h.lastVerdict('t')).toBe('error');
  });

  it('reads the window: what finished before it is not history', () => {
    const h = statsOf(
      [
        job('old', 't', 'tv-1', 'failed', { finishedAt: NOW - 40 * DAY }),
        job('new', 't', 'tv-1', 'passed', { finishedAt: NOW - 2 * DAY }),
        job('old', 'gone', 'tv-1', 'failed', { finishedAt: NOW - 40 * DAY }),
      ],
      30,
    ).accessor();
    expect(h.failRate('t')).toBe(0);
    expect(h.failRate('gone')).toBeUndefined();
    expect(h.lastVerdict('gone')).toBeUndefined();
  });

  it("keeps each partner's results apart, and the lab-wide view has them all", () => {
    const stats = statsOf([
      job('a1', 't', 'tv-1', 'failed', { partner: 'a' }),
      job('b1', 't', 'tv-1', 'passed', { partner: 'b' }),
    ]);
    expect(stats.accessor('a').failRate('t')).toBe(1);
    expect(stats.accessor('b').failRate('t')).toBe(0);
    expect(stats.accessor('b').failedInLast('t', 5)).toBe(false);
    expect(stats.accessor('c').failRate('t')).toBeUndefined();
    expect(stats.accessor().failRate('t')).toBe(0.5);
  });
});
