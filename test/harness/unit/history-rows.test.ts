import { describe, expect, it } from 'vitest';
import { groupCycles } from '../../../analysis/history/cycles.ts';
import { historyRows, runCycle } from '../../../harness/history/history-rows.ts';
import type { FinishedJob } from '../../../harness/store/history-repo.ts';

const job = (
  testId: string,
  deviceId: string,
  verdict: FinishedJob['verdict'],
  changed: string[] = [],
): FinishedJob => ({
  runId: 'run-1',
  partner: 'p',
  runCreatedAt: Date.parse('2026-11-01T10:00:00Z'),
  build: 'b1',
  changed,
  testId,
  component: 'player',
  pool: 'pool-1',
  deviceId,
  model: 'M1',
  firmware: '1.2',
  platform: 'tizen',
  verdict,
  durationMs: 1500,
  signature: null,
  finishedAt: Date.parse('2026-11-01T11:00:00Z'),
});

describe('runCycle (a run as one analysis cycle)', () => {
  it('is the cycle groupCycles makes of the same rows', () => {
    const jobs = [
      job('a', 'tv-1', 'passed', ['player', 'ads']),
      job('a', 'tv-1', 'failed'),
      job('b', 'tv-1', 'flaky'),
      job('c', 'tv-2', 'timed-out'),
      job('d', 'tv-2', 'error'),
      job('e', 'tv-2', 'skipped'),
      job('f', 'tv-2', 'cancelled'),
    ];
    expect(runCycle(jobs)).toEqual(groupCycles(historyRows(jobs))[0]);
  });

  it('carries the base build the run was submitted with', () => {
    const jobs = [
      { ...job('a', 'tv-1', 'failed'), baseBuild: 'main-41' },
      { ...job('b', 'tv-1', 'passed'), baseBuild: 'main-41' },
    ];
    expect(runCycle(jobs)?.baseBuild).toBe('main-41');
    expect(historyRows(jobs).map((r) => r.baseBuild)).toEqual(['main-41', 'main-41']);
    expect(runCycle(jobs)).toEqual(groupCycles(historyRows(jobs))[0]);
    expect(runCycle([job('a', 'tv-1', 'failed')])?.baseBuild).toBeUndefined();
  });

  it('is null for a run with no history', () => {
    expect(runCycle([])).toBeNull();
    expect(runCycle([job('a', 'tv-1', 'cancelled')])).toBeNull();
  });
});
