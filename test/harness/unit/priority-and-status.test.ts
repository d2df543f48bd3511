import { describe, expect, it } from 'vitest';
import { queuePriority } from '../../../harness/scheduler/priority.ts';
import { exitCodeFor, finalRunStatus } from '../../../harness/scheduler/run-status.ts';
import { failureSignature } from '../../../harness/results/signature.ts';

describe('queuePriority', () => {
  it('puts every job of a higher class before any job of a lower class', () => {
    expect(queuePriority('ci-pr', 599_998)).toBeLessThan(queuePriority('release', 0));
    expect(queuePriority('release', 599_998)).toBeLessThan(queuePriority('nightly', 0));
    expect(queuePriority('ci-pr', 0)).toBe(1);
    expect(queuePriority('nightly', 10 ** 9)).toBeLessThanOrEqual(2 ** 21);
  });
  it('orders by rank within a class, so two runs interleave instead of one starving the other', () => {
    expect(queuePriority('nightly', 3)).toBeLessThan(queuePriority('nightly', 4));
  });
});

describe('run status and exit codes', () => {
  it('fails on a test failure, errors on infrastructure only, passes flaky and skipped', () => {
    expect(finalRunStatus(['passed', 'failed', 'error'], false)).toBe('failed');
    expect(finalRunStatus(['passed', 'timed-out'], false)).toBe('failed');
    expect(finalRunStatus(['passed', 'error'], false)).toBe('error');
    expect(finalRunStatus(['passed', 'flaky', 'skipped'], false)).toBe('passed');
    expect(finalRunStatus([], false)).toBe('error');
    expect(finalRunStatus(['skipped'], false)).toBe('error');
    expect(finalRunStatus(['passed'], true)).toBe('cancelled');
    expect([
      exitCodeFor('passed'),
      exitCodeFor('failed'),
      exitCodeFor('error'),
      exitCodeFor('cancelled'),
    ]).toEqual([0, 1, 2, 2]);
  });
});

describe('failureSignature', () => {
  it('clusters the same failure with different numbers, ids and paths, and separates different ones', () => {
    const one = failureSignature(
      'expected "clicked 99" but got "clicked 1" after 1532 ms on http://127.0.0.1:4312/x',
      'Error: x\n    at checkText (/work/a/suite.ts:12:3)\n    at run (/work/a/runner.ts:40:9)',
    );
    const two = failureSignature(
      'expected "clicked 98" but got "clicked 2" after 87 ms on http://127.0.0.1:5555/y',
      'Error: x\n    at checkText (/other/b/suite.ts:99:1)\n    at run (/other/b/runner.ts:1:1)',
    );
    const other = failureSignature('player error 0x80004005: HEVC decoder unavailable');
    expect(one.hash).toBe(two.hash);
    expect(one.text).toContain('checkText@suite.ts');
    expect(other.hash).not.toBe(one.hash);
    expect(other.text).toBe('player error <hex>: HEVC decoder unavailable');
  });
});
