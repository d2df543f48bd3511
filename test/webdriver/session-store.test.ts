import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadInventory } from '../../devices/inventory/load.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { Store } from '../../harness/store/store.ts';
import {
  closeLeftoverSessions,
  SessionStore,
  WEBDRIVER_TEST_ID,
} from '../../harness/webdriver/session-store.ts';

/** A session's run in a real SQLite store (the control plane's file, migrations and repos). */
describe('WebDriver sessions in the store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const open = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devlab-wd-store-'));
    dirs.push(dir);
    return Store.open(path.join(dir, 'devlab.db'));
  };
  const device = loadInventory().find((d) => d.id === 'tv-4k-hdr')!;
  const session = (runId: string) => ({
    runId,
    jobId: `${runId}-job`,
    device,
    requestedAt: 1_000,
    startedAt: 2_000,
    request: runRequestSchema.parse({ select: 'id:tv-4k-hdr', build: 'b1', partner: 'acme' }),
  });

  it('keeps each outcome apart from test verdicts, and never as history', () => {
    const store = open();
    const sessions = new SessionStore(store);
    const outcomes = [
      ['r-completed', 'completed', 'passed', 'passed'],
      ['r-aborted', 'aborted by client', 'cancelled', 'cancelled'],
      ['r-idle', 'idle timeout', 'cancelled', 'cancelled'],
      ['r-lost', 'device lost', 'error', 'error'],
    ] as const;
    for (const [runId, outcome] of outcomes) {
      sessions.open(session(runId));
      expect(store.runs.get(runId)?.status).toBe('running');
      sessions.end({
        runId,
        jobId: `${runId}-job`,
        deviceId: device.id,
        outcome,
        message: `${outcome}: why`,
        startedAt: 2_000,
        endedAt: 5_000,
      });
    }
    for (const [runId, , attempt, verdict] of outcomes) {
      expect(store.runs.get(runId)).toMatchObject({
        status: verdict,
        partner: 'acme',
        createdAt: 1_000,
        startedAt: 2_000,
        finishedAt: 5_000,
      });
      expect(store.jobs.get(`${runId}-job`)).toMatchObject({
        testId: WEBDRIVER_TEST_ID,
        verdict,
        deviceId: device.id,
        durationMs: 3_000,
        attempts: 1,
      });
      expect(store.attempts.listByJob(`${runId}-job`).map((a) => a.status)).toEqual([attempt]);
      expect(store.history.runJobs(runId)).toEqual([]);
    }
    expect([...store.history.finishedRuns({ sinceMs: 0, maxRows: 1000 })]).toEqual([]);
    expect(store.history.countJobsFinishedAfter(0)).toBe(0);
    store.close();
  });

  it('closes the runs of sessions a stopped control plane left open, before its recovery could queue them', () => {
    const store = open();
    new SessionStore(store).open(session('r-left'));
    expect(closeLeftoverSessions(store, pino({ level: 'silent' }))).toBe(1);
    expect(store.runs.get('r-left')?.status).toBe('error');
    expect(store.jobs.get('r-left-job')).toMatchObject({
      state: 'done',
      verdict: 'error',
      message: 'device lost: the control plane stopped during the session',
    });
    expect(store.runs.list({ status: ['queued', 'running'] })).toEqual([]);
    expect(closeLeftoverSessions(store, pino({ level: 'silent' }))).toBe(0);
    store.close();
  });
});
