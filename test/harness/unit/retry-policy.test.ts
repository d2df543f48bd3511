import { describe, expect, it } from 'vitest';
import { infraBackoffMs, nextStep } from '../../../harness/scheduler/retry-policy.ts';
import type { AttemptSummary } from '../../../harness/store/attempts-repo.ts';

const a = (
  attempt: number,
  status: AttemptSummary['status'],
  deviceId: string | null = 'd1',
): AttemptSummary => ({
  attempt,
  status,
  deviceId,
});
const limits = { testRetries: 1, infraRetries: 2 };

describe('nextStep (retries and final verdicts)', () => {
  it('passes on a first pass and calls fail-then-pass flaky', () => {
    expect(nextStep([a(1, 'passed')], limits)).toEqual({ kind: 'final', verdict: 'passed' });
    expect(nextStep([a(1, 'failed'), a(2, 'passed')], limits)).toEqual({ kind: 'final', verdict: 'flaky' });
  });

  it('retries a test failure up to the limit, then fails (or times out)', () => {
    expect(nextStep([a(1, 'failed')], limits)).toMatchObject({
      kind: 'retry',
      attempt: 2,
      reason: 'test-failure',
    });
    expect(nextStep([a(1, 'failed'), a(2, 'failed')], limits)).toEqual({ kind: 'final', verdict: 'failed' });
    expect(nextStep([a(1, 'failed'), a(2, 'timed-out')], limits)).toEqual({
      kind: 'final',
      verdict: 'timed-out',
    });
    expect(nextStep([a(1, 'failed')], { testRetries: 0, infraRetries: 2 })).toEqual({
      kind: 'final',
      verdict: 'failed',
    });
  });

  it('retries infrastructure errors elsewhere without counting them against the test', () => {
    const step = nextStep([a(1, 'error', 'tv-1'), a(2, 'error', 'tv-2')], limits);
    expect(step).toEqual({
      kind: 'retry',
      attempt: 3,
      avoidDevices: ['tv-1', 'tv-2'],
      reason: 'infrastructure',
      delayMs: 1500,
    });
    // Two infra errors and one test failure: the test still has its one retry.
    expect(nextStep([a(1, 'error'), a(2, 'error'), a(3, 'failed')], limits)).toMatchObject({
      kind: 'retry',
      attempt: 4,
    });
    expect(nextStep([a(1, 'error'), a(2, 'error'), a(3, 'error')], limits)).toEqual({
      kind: 'final',
      verdict: 'error',
    });
  });

  it('spreads infrastructure retries over seconds (a shared outage does not use them all up at once); test retries do not wait', () => {
    expect([1, 2, 3, 4, 5, 6].map(infraBackoffMs)).toEqual([500, 1500, 4500, 13_500, 30_000, 30_000]);
    expect(nextStep([a(1, 'error')], limits)).toMatchObject({ kind: 'retry', delayMs: 500 });
    expect(nextStep([a(1, 'error'), a(2, 'failed')], limits)).toMatchObject({ kind: 'retry', delayMs: 0 });
  });

  it('ends a cancelled attempt as cancelled and orders attempts by number, not arrival', () => {
    expect(nextStep([a(1, 'cancelled')], limits)).toEqual({ kind: 'final', verdict: 'cancelled' });
    expect(nextStep([a(2, 'passed'), a(1, 'failed')], limits)).toEqual({ kind: 'final', verdict: 'flaky' });
    expect(() => nextStep([], limits)).toThrow(/at least one attempt/);
  });
});
