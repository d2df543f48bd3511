import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runRequestSchema } from '../../../harness/protocol/run-request.ts';
import type { Verdict } from '../../../harness/protocol/verdict.ts';
import { Store } from '../../../harness/store/store.ts';

describe('per-device counts of a run (SQLite store)', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-counts-'));
  const store = Store.open(path.join(home, 'devlab.db'));
  afterAll(() => {
    store.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('counts test failures as failed and infrastructure errors apart, never as failed', () => {
    store.runs.insert({ id: 'run-c', request: runRequestSchema.parse({}), createdAt: 0 });
    const verdicts: Verdict[] = ['passed', 'failed', 'timed-out', 'error', 'error', 'flaky'];
    const jobs = verdicts.map((_, seq) => ({
      id: `job-${seq}`,
      runId: 'run-c',
      seq,
      testId: `t${seq}`,
      pool: 'docker:BOX@1#a',
      deviceModel: 'BOX',
      deviceFirmware: '1',
      devicePlatform: 'linux',
      component: 'c',
      score: 0,
      reasons: [],
      estDurationMs: 0,
      maxRetries: 0,
      timeoutMs: 1000,
    }));
    store.jobs.insertMany([...jobs, { ...jobs[0]!, id: 'job-open', seq: 9 }], 0);
    for (const [seq, verdict] of verdicts.entries())
      store.jobs.finish(`job-${seq}`, {
        verdict,
        deviceId: 'box-1',
        durationMs: 10,
        signature: null,
        message: null,
        at: 1,
      });
    expect(store.jobs.deviceCounts('run-c')).toEqual({
      'box-1': { done: 6, failed: 2, errors: 2, total: 6 },
      'docker:BOX@1#a': { done: 0, failed: 0, errors: 0, total: 1 },
    });
  });
});
