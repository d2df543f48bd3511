import { describe, expect, it } from 'vitest';
import { resultsMatrix } from '../../../harness/cli/results-matrix.ts';
import { deviceLine, progressLine } from '../../../harness/cli/run-progress.ts';

describe('CLI progress and results matrix', () => {
  const run = {
    id: 'run-1',
    status: 'running',
    done: false,
    counts: { passed: 3, failed: 1, pending: 4 },
    total: 8,
    createdAt: 0,
    startedAt: 10_000,
    devices: {
      'tv-4k': { done: 3, failed: 1, total: 5 },
      'appium:STK@1#abc': { done: 1, failed: 0, total: 3 },
    },
  };

  it('shows counts per verdict, an ETA from the pace so far, and per-device progress', () => {
    // 4 jobs done in 20 s: 4 pending take about 20 s more.
    expect(progressLine(run, 30_000)).toBe('run-1 running 4/8 · passed 3, failed 1, pending 4 · ETA 20 s');
    expect(deviceLine(run)).toBe('tv-4k 3/5 (1✖) · STK@1 1/3');
    // Infrastructure errors are shown apart from test failures, never as ✖.
    const lost = {
      'tv-4k': { done: 5, failed: 1, errors: 2, total: 5 },
      'tv-hd': { done: 2, failed: 0, errors: 1, total: 2 },
    };
    expect(deviceLine({ ...run, devices: lost })).toBe('tv-4k 5/5 (1✖ 2E) · tv-hd 2/2 (1E)');
    expect(
      progressLine({ ...run, done: true, status: 'failed', counts: { passed: 7, failed: 1 } }, 60_000),
    ).toBe('run-1 failed 8/8 · passed 7, failed 1');
  });

  it('draws one row per test and one column per device', () => {
    const text = resultsMatrix(
      [
        { testId: 'play', pool: 'appium:TV@1#a', deviceId: 'tv-1', verdict: 'passed', state: 'done' },
        { testId: 'play', pool: 'docker:BOX@2#b', deviceId: null, verdict: null, state: 'queued' },
        { testId: 'seek', pool: 'appium:TV@1#a', deviceId: 'tv-1', verdict: 'failed', state: 'done' },
      ],
      false,
    );
    const [header, play, seek] = text.split('\n');
    expect(header).toMatch(/^test\s+tv-1\s+BOX@2$/);
    expect(play).toMatch(/^play\s+✔\s+·/);
    expect(seek).toMatch(/^seek\s+✖/);
  });
});
