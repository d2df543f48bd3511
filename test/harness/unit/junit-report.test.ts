import { describe, expect, it } from 'vitest';
import { parseJunitXml } from '../../../analysis/history/junit.ts';
import type { Verdict } from '../../../harness/protocol/verdict.ts';
import { junitReport } from '../../../harness/results/junit-report.ts';
import type { JobRow } from '../../../harness/store/jobs-repo.ts';

function job(testId: string, verdict: Verdict): JobRow {
  return {
    id: `j-${testId}`,
    runId: 'run-1',
    seq: 0,
    testId,
    pool: 'appium:TV@1#a',
    deviceModel: 'TV',
    deviceFirmware: '1',
    devicePlatform: 'tizen',
    component: 'player',
    score: null,
    reasons: [],
    estDurationMs: null,
    maxRetries: 1,
    timeoutMs: 60_000,
    state: 'done',
    verdict,
    deviceId: 'tv-1',
    attempts: 1,
    infraAttempts: verdict === 'error' ? 3 : 0,
    durationMs: 1000,
    signature: null,
    message: `${verdict} message`,
    skipReason: null,
    finishedAt: 1,
  };
}

describe('JUnit report verdicts', () => {
  it('writes test failures as <failure>, infrastructure errors as typed <error>, and imports back the same', () => {
    const jobs = (['passed', 'failed', 'timed-out', 'error', 'flaky', 'skipped'] as const).map((v) =>
      job(v, v),
    );
    const xml = junitReport({
      runId: 'run-1',
      jobs,
      cases: new Map([
        [
          'j-failed',
          [{ name: 'case-npe', classname: 'conf', verdict: 'error' as const, durationMs: 5, message: 'NPE' }],
        ],
      ]),
    });
    expect(xml).toMatch(/failures="2"/);
    expect(xml).toMatch(/errors="2"/);
    const { rows } = parseJunitXml(xml, 'report.xml', '1');
    const verdictOf = Object.fromEntries(rows.map((r) => [r.test.replace(/^.*\./, ''), r.verdict]));
    // The lab's infrastructure error stays an error; a test binary's own <error> case is a failure.
    expect(verdictOf).toMatchObject({
      passed: 'pass',
      failed: 'fail',
      'timed-out': 'fail',
      error: 'error',
      flaky: 'pass',
      skipped: 'skipped',
    });
    expect(rows.find((r) => r.test.endsWith('case-npe'))!.verdict).toBe('fail');
  });
});
