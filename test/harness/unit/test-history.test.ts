import { describe, expect, it } from 'vitest';
import { testHistoryAccessor } from '../../../harness/lab/test-history.ts';
import type { FinishedJob } from '../../../harness/store/history-repo.ts';

const job = (
  runId: string,
  testId: string,
  deviceId: string,
  verdict: FinishedJob['verdict'],
  model = 'M1',
): FinishedJob => ({
  runId,
  runCreatedAt: 0,
  build: 'b',
  changed: [],
  testId,
  component: 'player',
  deviceId,
  model,
  firmware: '1',
  platform: 'tizen',
  verdict,
  durationMs: 1000,
  signature: null,
  finishedAt: 0,
});

describe('testHistoryAccessor (the query language history fields over the store)', () => {
  const jobs = [
    job('r1', 't', 'tv-1', 'failed'),
    job('r1', 't', 'tv-2', 'passed', 'M2'),
    job('r2', 't', 'tv-1', 'flaky'),
    job('r2', 't', 'tv-2', 'passed', 'M2'),
    job('r3', 't', 'tv-1', 'passed'),
    job('r3', 't', 'tv-2', 'passed', 'M2'),
  ];
  const history = testHistoryAccessor(jobs);

  it('answers per test and per scope', () => {
    expect(history.failRate('t')).toBeCloseTo(1 / 6);
    expect(history.failRate('t', { device: 'tv-1' })).toBeCloseTo(1 / 3);
    expect(history.failRate('t', { model: 'M2' })).toBe(0);
    expect(history.lastVerdict('t')).toBe('passed');
    expect(history.lastVerdict('t', { device: 'tv-1' })).toBe('passed');
    expect(history.isFlaky('t')).toBe(true);
    expect(history.failRate('unknown')).toBeUndefined();
  });

  it('counts failed_in_last by runs, not by device jobs', () => {
    expect(history.failedInLast('t', 2)).toBe(false);
    expect(history.failedInLast('t', 3)).toBe(true);
    expect(history.failedInLast('t', 3, { model: 'M2' })).toBe(false);
  });
});
