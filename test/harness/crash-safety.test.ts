import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import type { StoredEvent } from '../../harness/store/events-repo.ts';
import { type AgentProcess, spawnAgent } from '../support/agent-process.ts';
import { waitForRun } from '../support/lab-harness.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { DOCKER_SOCKET, dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { containerBox } from '../support/container-box.ts';

const box = (id: string, host: string) =>
  containerBox({ id, name: id, model: 'crash-box', host, memoryMb: 32 });

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const sleeper = (id, seconds) =>
  defineTest({ id, title: id, tags: ['crash'], component: 'sched', owner: 'qa', timeoutMs: 60000 }, async ({ container }) => {
    const out = await container.exec(['sleep', String(seconds)]);
    if (out.exitCode !== 0) throw new Error('sleep failed');
  });
export default [sleeper('crash.long', 6), sleeper('crash.a', 0.2), sleeper('crash.b', 0.2), sleeper('crash.c', 0.2)];
`;

describe('crash safety of a run (real Redis, Docker engine, SQLite, agents as separate processes)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-crash-'));
  const env = {
    DEVLAB_HOME: path.join(dir, 'home'),
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: `devlab-crash-${process.pid}`,
    DEVLAB_LEASE_TTL_MS: '3000',
    DEVLAB_JOB_LOCK_MS: '4000',
  };
  const inventory = path.join(dir, 'inventory.yaml');
  const suites = path.join(dir, 'suites');
  let config: DevlabConfig;
  const agents: AgentProcess[] = [];

  beforeAll(() => {
    mkdirSync(suites, { recursive: true });
    writeFileSync(path.join(suites, 'package.json'), '{"type":"module"}\n');
    writeFileSync(path.join(suites, 'crash.test-def.ts'), SUITE);
    writeFileSync(inventory, `devices:${box('crash-box-a', 'crash-a')}${box('crash-box-b', 'crash-b')}\n`);
    config = loadConfig({ env: { ...process.env, ...env } });
  });
  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    rmSync(dir, { recursive: true, force: true });
    if (!up) return;
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await dropPrefix(redis, env.DEVLAB_REDIS_PREFIX);
    await redis.quit();
  });

  const startServer = () =>
    startControlPlaneService(config, { port: 0, suites: [suites], inventoryFile: inventory });
  const startAgent = async (host: string, serverUrl: string) => {
    const agent = await spawnAgent(
      [
        '--host',
        host,
        '--inventory',
        inventory,
        '--suites',
        suites,
        '--server',
        serverUrl,
        '--app-url',
        'http://127.0.0.1:9/',
      ],
      env,
    );
    agents.push(agent);
    return agent;
  };

  it.skipIf(!up)(
    'kill -9 of the agent running a test and a control-plane restart: the run completes with one result per job',
    async () => {
      let server: ControlPlaneService = await startServer();
      const byHost: Record<string, AgentProcess> = {
        'crash-a': await startAgent('crash-a', server.url),
        'crash-b': await startAgent('crash-b', server.url),
      };
      const { run } = await server.controlPlane.submit({ query: 'tag:crash', options: { ordering: 'fifo' } });
      const longJob = server.store.jobs.listByRun(run.id).find((j) => j.testId === 'crash.long')!;
      const started = await new Promise<StoredEvent>((resolve) => {
        const off = server.controlPlane.events.subscribe((e) => {
          if (e.type === 'job.started' && e.payload['jobId'] === longJob.id) {
            off();
            resolve(e);
          }
        }, run.id);
      });
      await new Promise((r) => setTimeout(r, 1000));
      const victimHost = String(started.payload['agent']);
      byHost[victimHost]!.kill9();

      // The control plane restarts too, mid-run, on the same store.
      await server.close();
      server = await startServer();
      expect(await waitForRun(server.store, run.id, 120_000)).toBe('passed');

      const jobs = server.store.jobs.listByRun(run.id);
      expect(jobs.map((j) => j.verdict)).toEqual(['passed', 'passed', 'passed', 'passed']);
      const long = server.store.jobs.get(longJob.id)!;
      expect(long.deviceId).not.toBe(victimHost === 'crash-a' ? 'crash-box-a' : 'crash-box-b');
      for (const job of jobs) expect(server.store.attempts.listByJob(job.id)).toHaveLength(1);
      const finished = server.store.events.since(run.id).filter((e) => e.type === 'job.finished');
      expect(finished).toHaveLength(4);

      // The killed agent's host comes back: its reaper removes the container its previous life left.
      await startAgent(victimHost, server.url);
      const docker = new Docker({ socketPath: DOCKER_SOCKET });
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`devlab.agent=${victimHost}`] },
      });
      expect(left).toHaveLength(0);
      await server.close();
    },
  );
});

describe('Redis restarted mid-run (AOF on)', async () => {
  const up = (await requireService('Docker engine', dockerUp)) && (await requireService('Redis', redisUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-redis-restart-'));
  const port = 6391;
  const redisUrl = `redis://127.0.0.1:${port}`;
  const startRedis = () =>
    execFileSync('redis-server', [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--appendonly',
      'yes',
      '--dir',
      dir,
      '--daemonize',
      'yes',
      '--save',
      '',
    ]);
  const stopRedis = () => {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'shutdown']);
    } catch {
      // already down
    }
  };
  afterAll(() => {
    stopRedis();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!up)('loses no job: the run completes after the restart', async () => {
    startRedis();
    const env = {
      DEVLAB_HOME: path.join(dir, 'home'),
      DEVLAB_REDIS_URL: redisUrl,
      DEVLAB_LEASE_TTL_MS: '3000',
      DEVLAB_JOB_LOCK_MS: '5000',
    };
    const suites = path.join(dir, 'suites');
    mkdirSync(suites, { recursive: true });
    writeFileSync(path.join(suites, 'package.json'), '{"type":"module"}\n');
    writeFileSync(path.join(suites, 'crash.test-def.ts'), SUITE);
    const inventory = path.join(dir, 'inventory.yaml');
    writeFileSync(inventory, `devices:${box('redis-box', 'redis-agent')}\n`);
    const config = loadConfig({ env: { ...process.env, ...env } });
    const server = await startControlPlaneService(config, {
      port: 0,
      suites: [suites],
      inventoryFile: inventory,
    });
    const agent = await spawnAgent(
      [
        '--host',
        'redis-agent',
        '--inventory',
        inventory,
        '--suites',
        suites,
        '--server',
        server.url,
        '--app-url',
        'http://127.0.0.1:9/',
      ],
      env,
    );
    try {
      const { run } = await server.controlPlane.submit({ query: 'tag:crash', options: { ordering: 'fifo' } });
      await new Promise((r) => setTimeout(r, 2500));
      stopRedis();
      await new Promise((r) => setTimeout(r, 1500));
      startRedis();
      expect(await waitForRun(server.store, run.id, 120_000)).toBe('passed');
      expect(server.store.jobs.listByRun(run.id).map((j) => j.verdict)).toEqual([
        'passed',
        'passed',
        'passed',
        'passed',
      ]);
    } finally {
      await agent.stop();
      await server.close();
    }
  });
});
