import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import { LABEL_AGENT } from '../../devices/docker/labels.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { PrivateRedis } from '../support/private-redis.ts';
import { DOCKER_SOCKET, dockerUp, requireService } from '../support/services.ts';
import {
  describeResults,
  expectOneResultPerJob,
  type FaultLab,
  startFaultLab,
  until,
  waitForRunOrExplain,
  writeSuite,
} from './fault-lab.ts';
import { containerBox } from '../support/container-box.ts';

/**
 * Issue #15: with Redis down longer than a job lock, BullMQ's stall check handed the running attempts to a
 * device again once Redis was back, and the second execution of each went unseen (its report was a
 * "duplicate" of the first, its artifacts were the first's). Here a private redis-server is stopped for
 * 10 s under 4 s job locks while four container tests run, and every execution the Docker engine saw
 * (one marker exec per execution) must be an attempt in the store: the ones the outage stopped are
 * recorded as stopped (an infrastructure error naming the lost queue lock), and none runs a second time
 * unseen.
 */

// Per test process: containers on a shared engine are told apart by their agent label.
const AGENTS = [`outage-a-${process.pid}`, `outage-b-${process.pid}`];
const TESTS = ['outage.t1', 'outage.t2', 'outage.t3', 'outage.t4', 'outage.t5', 'outage.t6'];
const LOCK_MS = 4000;
const OUTAGE_MS = 10_000;

const box = (id: string, host: string) =>
  containerBox({ id, name: id, model: 'outage-box', host, memoryMb: 32 });

// Each execution runs one exec whose command line names its test: the engine's events count executions.
const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const sleeper = (id) =>
  defineTest({ id, title: id, tags: ['outage'], component: 'faults', owner: 'qa', timeoutMs: 60000 }, async ({ container }) => {
    const out = await container.exec(['sh', '-c', ': ' + id + '; sleep 6']);
    if (out.exitCode !== 0) throw new Error('sleep exited with ' + out.exitCode);
  });
export default ${JSON.stringify(TESTS)}.map(sleeper);
`;

/** The engine's container events of the agents since `since` (seconds), up to now. */
async function execMarkers(docker: Docker, since: number): Promise<string[]> {
  const stream = (await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000) + 1,
    // Label filters of the events API must all match: the agents' containers are picked below.
    filters: { type: ['container'] },
  })) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Action?: string; Actor?: { Attributes?: Record<string, string> } })
    .filter((e) => AGENTS.includes(e.Actor?.Attributes?.[LABEL_AGENT] ?? ''))
    .map((e) => String(e.Action ?? ''))
    .filter((action) => action.startsWith('exec_start: sh -c : outage.'));
}

const executionsOf = (markers: string[], testId: string) =>
  markers.filter((m) => m.startsWith(`exec_start: sh -c : ${testId};`)).length;

describe('a Redis outage longer than the job lock (private redis-server, agents as processes)', async () => {
  const up = await requireService('Docker engine', dockerUp);
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fault-redis-'));
  const redis = new PrivateRedis(path.join(dir, 'redis'), await freePort());
  let lab: FaultLab | null = null;

  afterAll(async () => {
    await lab?.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!up)(
    'no test runs twice unseen: every execution the engine saw is an attempt, those the outage stopped say so',
    async () => {
      mkdirSync(redis.dir, { recursive: true });
      await redis.start();
      lab = await startFaultLab({
        dir,
        name: 'redis',
        inventoryYaml: `devices:${AGENTS.flatMap((a) => [box(`${a}-1`, a), box(`${a}-2`, a)]).join('')}\n`,
        suites: writeSuite(dir, 'outage', SUITE),
        env: {
          DEVLAB_REDIS_URL: redis.url,
          DEVLAB_JOB_LOCK_MS: String(LOCK_MS),
          DEVLAB_LEASE_TTL_MS: '3000',
          DEVLAB_DOCKER_SOCKET: DOCKER_SOCKET,
          // The agents say at info when a queue job that came back is not run again.
          DEVLAB_LOG_LEVEL: 'info',
        },
      });
      for (const agent of AGENTS) await lab.startAgent(agent, ['--app-url', 'http://127.0.0.1:9/']);
      const { store, controlPlane } = lab.server;
      const docker = new Docker({ socketPath: DOCKER_SOCKET });
      const since = Math.floor(Date.now() / 1000) - 1;

      const { run } = await controlPlane.submit({ query: 'tag:outage', options: { ordering: 'fifo' } });
      // The four devices are each inside a test's exec: now Redis goes away for longer than a lock.
      await until(
        'four tests to be running in their containers',
        async () => (await execMarkers(docker, since)).length >= 4,
        60_000,
        200,
      );
      await redis.stop();
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      await redis.start();
      const upAt = Date.now();

      const status = await waitForRunOrExplain(lab, run.id, 120_000);
      const results = expectOneResultPerJob(store, run.id);
      const stopped = results.flatMap(({ job, attempts }) =>
        attempts
          .filter((a) => /lost its queue lock during a Redis outage/.test(a.message ?? ''))
          .map((a) => ({ job, attempt: a })),
      );
      // The stall check hands each stopped attempt's queue job out again once Redis is back: the worker
      // that takes it sees the attempt was reported and does not run it (said in the agent's log).
      const agentsLog = () => lab?.agents.map((a) => a.output()).join('\n') ?? '';
      await until(
        'the stopped attempts to come back from the stall check and not be run again',
        () =>
          stopped.every(({ job }) =>
            agentsLog().includes(`job ${job.id} attempt 1: its queue job ${job.id}-a1 came back`),
          ),
        30_000,
        200,
      ).catch(() => {});
      const markers = await execMarkers(docker, since);
      const duplicates = store.events.since(run.id, 0, 100_000).filter((e) => e.type === 'attempt.duplicate');
      const story = [
        `Redis down ${downAt} .. ${upAt}, run ${status}`,
        describeResults(results),
        ...duplicates.map((e) => `duplicate ${JSON.stringify(e.payload)}`),
        ...markers,
      ].join('\n');
      if (process.env['DEVLAB_FAULT_VERBOSE']) console.log(`${story}\n${agentsLog()}`);

      for (const { job, attempts } of results) {
        const seen = duplicates.filter((e) => e.payload['jobId'] === job.id).length;
        // Each execution the engine saw is an attempt of the store, or a duplicate execution recorded as one.
        expect(executionsOf(markers, job.testId), `${job.testId}\n${story}`).toBe(attempts.length + seen);
        // Never a test result out of an outage: the verdict is the test's own.
        expect(job.verdict, story).toBe('passed');
      }
      // The outage stopped the running tests and said why; their queue jobs came back and were not run.
      expect(stopped.length, story).toBeGreaterThan(0);
      for (const { job, attempt } of stopped) {
        expect(attempt, story).toMatchObject({ status: 'error', errorKind: 'infra', attempt: 1 });
        expect(attempt.startedAt).toBeLessThan(downAt);
        expect(agentsLog(), story).toMatch(
          new RegExp(`job ${job.id}-a1 came back after its lock expired .*: not run again`),
        );
      }
      expect(duplicates, story).toEqual([]);
      expect(status).toBe('passed');

      // Should a second execution run anyway (its agent cut off from Redis for longer than a lock), its
      // late report is recorded beside the stored attempt, once, never merged into it nor dropped.
      const [{ job, attempts }] = results as [(typeof results)[number]];
      const first = attempts[0]!;
      const late = {
        runId: run.id,
        jobId: job.id,
        attempt: first.attempt,
        deviceId: `${AGENTS[1]}-2`,
        agent: AGENTS[1]!,
        status: 'failed' as const,
        error: { message: 'boom', kind: 'test' as const },
        startedAt: first.startedAt + 1,
        endedAt: first.startedAt + 500,
        artifacts: [
          { id: 'abcdef0123456789abcd', name: 'test.delivery-2.log', contentType: 'text/plain', size: 3 },
        ],
        cases: [],
      };
      await controlPlane.onReport(late);
      await controlPlane.onReport(late);
      // The stored attempt's own report delivered again is no duplicate.
      await controlPlane.onReport({
        ...late,
        deviceId: first.deviceId,
        agent: first.agent,
        startedAt: first.startedAt,
      });
      const recorded = store.events.since(run.id, 0, 100_000).filter((e) => e.type === 'attempt.duplicate');
      expect(recorded.map((e) => e.payload)).toEqual([
        {
          jobId: job.id,
          testId: job.testId,
          attempt: first.attempt,
          deviceId: `${AGENTS[1]}-2`,
          agent: AGENTS[1],
          status: 'failed',
          errorKind: 'test',
          message: 'boom',
          startedAt: late.startedAt,
          endedAt: late.endedAt,
          artifacts: [{ id: 'abcdef0123456789abcd', name: 'test.delivery-2.log' }],
          stored: {
            deviceId: first.deviceId,
            agent: first.agent,
            status: first.status,
            startedAt: first.startedAt,
          },
        },
      ]);
      // The verdict and the attempts stay as they were.
      expect(store.attempts.listByJob(job.id)).toEqual(attempts);
      expect(store.jobs.get(job.id)?.verdict).toBe(job.verdict);
    },
    240_000,
  );
});
