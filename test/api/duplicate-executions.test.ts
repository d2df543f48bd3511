import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import type { AttemptReport } from '../../harness/protocol/job.ts';
import { storePath } from '../../harness/store/database.ts';
import { Store } from '../../harness/store/store.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { seedFinishedRun } from '../support/seed-history.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

/**
 * Issue #15: a second execution of an attempt (its queue job handed out again after the lock was lost, e.g.
 * in a Redis outage) is recorded by the control plane as an `attempt.duplicate` event; the job view (API,
 * `devlab results show`) shows it as what it is, with its own artifacts, beside the stored attempt whose
 * verdict stands. The event is written by the control plane's own report handling on the real store.
 */

interface DuplicateView {
  attempt: number;
  deviceId: string | null;
  agent: string;
  status: string;
  errorKind: string | null;
  message: string | null;
  startedAt: number;
  endedAt: number;
  artifacts: { id: string; name: string; url: string }[];
  stored: { deviceId: string | null; agent: string; status: string };
  note: string;
}

interface ResultJob {
  id: string;
  testId: string;
  verdict: string | null;
  attemptsDetail: { attempt: number; deviceId: string | null }[];
  artifacts: { id: string; attempt: number; name: string; url: string }[];
  duplicates: DuplicateView[];
}

describe('a duplicate execution in the job view (real store, control plane and Redis)', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-duplicates-'));
  const prefix = `devlab-duplicates-${process.pid}`;
  const env = { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: REDIS_URL, DEVLAB_REDIS_PREFIX: prefix };
  let server: ControlPlaneService | null = null;

  afterAll(async () => {
    await server?.close();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'shows the second execution with its device, outcome and artifacts; the verdict stays the stored attempt’s',
    async () => {
      const config: DevlabConfig = loadConfig({ env });
      const t0 = Date.now() - 60_000;
      // A finished run: player.seek passed on tv-1 (its attempt stored as an agent reports it), home too.
      const store = Store.open(storePath(config.home));
      const runId = seedFinishedRun(store, {
        at: t0,
        jobs: [
          { test: 'player.seek', device: 'tv-1', verdict: 'passed' },
          { test: 'home', device: 'tv-2', verdict: 'passed' },
        ],
      });
      const [seek, home2] = store.jobs.listByRun(runId);
      const first: AttemptReport = {
        runId,
        jobId: seek!.id,
        attempt: 1,
        deviceId: 'tv-1',
        agent: 'agent-a',
        status: 'passed',
        startedAt: t0 - 5000,
        endedAt: t0 - 4000,
        artifacts: [],
        cases: [],
      };
      for (const report of [first, { ...first, jobId: home2!.id, deviceId: 'tv-2' }])
        expect(store.attempts.insert(report, null)).toBe(true);
      store.close();

      server = await startControlPlaneService(config, { port: 0 });
      // The same attempt ran again on tv-3 (its queue lock was lost) and failed; its report arrives twice.
      const artifactId = 'abcdef0123456789abcd';
      const late: AttemptReport = {
        ...first,
        deviceId: 'tv-3',
        agent: 'agent-b',
        status: 'failed',
        error: { message: 'boom\nat the second execution', kind: 'test' },
        startedAt: t0 - 3000,
        endedAt: t0 - 2500,
        artifacts: [{ id: artifactId, name: 'screenshot.delivery-2.png', contentType: 'image/png', size: 4 }],
      };
      await server.controlPlane.onReport(late);
      await server.controlPlane.onReport(late);
      // The stored attempt's own report delivered again is no duplicate.
      await server.controlPlane.onReport(first);
      // Its artifact arrives as agents upload them.
      const upload = await fetch(
        `${server.url}/internal/artifacts/${artifactId}?run=${runId}&job=${seek!.id}&attempt=1&name=screenshot.delivery-2.png`,
        { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from('png!') },
      );
      expect(upload.status).toBe(201);

      const res = await fetch(`${server.url}/api/runs/${runId}/results`);
      expect(res.status).toBe(200);
      const { jobs } = (await res.json()) as { jobs: ResultJob[] };
      const byTest = new Map(jobs.map((j) => [j.testId, j]));
      const job = byTest.get('player.seek')!;
      expect(job.duplicates).toEqual([
        {
          attempt: 1,
          deviceId: 'tv-3',
          agent: 'agent-b',
          status: 'failed',
          errorKind: 'test',
          message: 'boom\nat the second execution',
          startedAt: late.startedAt,
          endedAt: late.endedAt,
          artifacts: [
            { id: artifactId, name: 'screenshot.delivery-2.png', url: `/api/artifacts/${artifactId}` },
          ],
          stored: { deviceId: 'tv-1', agent: 'agent-a', status: 'passed' },
          note: "attempt 1 executed again on tv-3 after a lost queue lock (e.g. a Redis outage): not counted in the verdict, which is the stored attempt's on tv-1",
        },
      ]);
      // The verdict and the attempts are the stored attempt's; the second execution's file is served.
      expect(job.verdict).toBe('passed');
      expect(job.attemptsDetail.map((a) => [a.attempt, a.deviceId])).toEqual([[1, 'tv-1']]);
      const file = await fetch(`${server.url}${job.duplicates[0]!.artifacts[0]!.url}`);
      expect([file.status, Buffer.from(await file.arrayBuffer()).toString()]).toEqual([200, 'png!']);
      expect(byTest.get('home')!.duplicates).toEqual([]);

      // `devlab results show` lists it in a section of its own.
      const cli = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [
            path.join(PROJECT_ROOT, 'harness/cli/devlab.js'),
            'results',
            'show',
            runId,
            '--server',
            server!.url,
          ],
          { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 60_000 },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
        ),
      );
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain(
        'executed again after a lost queue lock (e.g. a Redis outage), not counted in the verdict:\n' +
          "  player.seek attempt 1 on tv-3 (agent-b): failed (boom); the verdict is the stored attempt's on tv-1 (passed); its artifacts: screenshot.delivery-2.png\n",
      );
    },
    120_000,
  );
});
