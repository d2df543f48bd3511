import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_AGENT, LABEL_DEVICE, LABEL_INSTANCE } from '../../devices/docker/labels.ts';
import { buildLocalImage } from '../../devices/docker/local-image.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { attemptJobId, poolQueueName } from '../../harness/queue/names.ts';
import { redisUp, requireService } from '../support/services.ts';
import {
  expectOneResultPerJob,
  type FaultLab,
  expectNoLeaseLeft,
  PrivateDockerd,
  startFaultLab,
  until,
  submitAndWaitForStart,
  waitForRunOrExplain,
  writeSuite,
  expectRecoveredRun,
  expectEngineClean,
} from './fault-lab.ts';
import { containerBox } from '../support/container-box.ts';

const AGENT = 'fault-dkr';
const IMAGE = 'devlab/fault-box:1';

const box = (id: string, socket: string, host = AGENT) =>
  containerBox({ id, name: id, model: 'fault-box', host, image: IMAGE, memoryMb: 32, settings: { socket } });

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const sleeper = (id, seconds) =>
  defineTest({ id, title: id, tags: ['engine'], component: 'faults', owner: 'qa', timeoutMs: 60000 }, async ({ container }) => {
    const out = await container.exec(['sleep', String(seconds)]);
    if (out.exitCode !== 0) throw new Error('sleep exited with ' + out.exitCode);
  });
export default [
  sleeper('engine.long', 8),
  sleeper('engine.a', 0.3),
  sleeper('engine.b', 0.3),
  sleeper('engine.c', 0.3),
  sleeper('engine.d', 0.3),
  sleeper('engine.e', 0.3),
];
`;

const BOUNCE_SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
export default [
  defineTest({ id: 'bounce.one', title: 'bounce.one', tags: ['bounce'], component: 'faults', owner: 'qa', timeoutMs: 60000 },
    async ({ container }) => {
      const out = await container.exec(['true']);
      if (out.exitCode !== 0) throw new Error('true exited with ' + out.exitCode);
    }),
];
`;

describe('Docker engine killed and restarted mid-run (a private dockerd)', async () => {
  const up = await requireService('Redis', redisUp);
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fault-engine-'));
  const engine = new PrivateDockerd();
  const labs: FaultLab[] = [];
  /** Each lab in its own folder: own store, inventory and suites. */
  const labDir = (name: string) => {
    const sub = path.join(dir, name);
    mkdirSync(sub, { recursive: true });
    return sub;
  };

  beforeAll(async () => {
    if (!up) return;
    await engine.start();
    // The image the devices run, built in the private engine from busybox-static (no registry).
    await buildLocalImage(engine.docker, { ...REFERENCE_IMAGE_SPECS['stb-reference-1']!, tag: IMAGE });
  });
  afterAll(async () => {
    for (const lab of labs) await lab.close();
    await engine.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!up)(
    'the interrupted attempt is an infrastructure error and is retried; one result per job; no lease or container left',
    async () => {
      const lab = await startFaultLab({
        dir: labDir('engine'),
        name: 'engine',
        inventoryYaml: `devices:${box('fault-box-a', engine.socket)}${box('fault-box-b', engine.socket)}\n`,
        suites: writeSuite(labDir('engine'), 'engine', SUITE),
        env: { DEVLAB_DOCKER_SOCKET: engine.socket, DEVLAB_HEALTH_INTERVAL_MS: '500' },
      });
      labs.push(lab);
      const { server } = lab;
      const agent = await lab.startAgent(AGENT, ['--app-url', 'http://127.0.0.1:9/']);
      const {
        runId,
        job: long,
        deviceId: victim,
      } = await submitAndWaitForStart(lab, 'engine', 'engine.long');
      // Its container runs and the test's exec is in progress: now the engine dies.
      await until('the long test exec to run in its container', async () => {
        const [info] = await engine.docker.listContainers({
          filters: { label: [`${LABEL_DEVICE}=${victim}`], status: ['running'] },
        });
        if (!info) return false;
        const inspect = await engine.docker.getContainer(info.Id).inspect();
        return (inspect.ExecIDs?.length ?? 0) > 0;
      });
      const killedAt = Date.now();
      await engine.kill('SIGKILL');

      const interrupted = await until('the interrupted attempt to be reported', () =>
        server.store.attempts.listByJob(long.id).find((a) => a.attempt === 1),
      );
      await engine.start();
      const restartedAt = Date.now();

      const { status } = await expectRecoveredRun(lab, {
        runId,
        jobId: long.id,
        victim,
        interrupted,
        killedAt,
        restartedAt,
      });
      expect(interrupted.message).toMatch(/ECONNREFUSED|ENOENT|ECONNRESET|socket hang up/);
      expect(server.store.runs.get(runId)?.status).toBe(status);

      // Nothing left behind: no lease, no container of the agent on the engine (removed by the agent that
      // is still running, not by a reaper at its next start), and the agent lived through it.
      await expectEngineClean(lab, engine, AGENT, agent);
    },
    120_000,
  );

  it.skipIf(!up)(
    'an infrastructure retry that its only free device must avoid is put back, then run there (never dropped)',
    async () => {
      // A pool of two devices of which only one has an agent: the retry of an attempt that failed on that
      // one comes back to it; it puts the retry back a few times for the other device, then runs it itself.
      const lab = await startFaultLab({
        dir: labDir('bounce'),
        name: 'bounce',
        inventoryYaml: `devices:${box('bounce-box-a', engine.socket, 'fault-bounce')}${box('bounce-box-b', engine.socket, 'fault-nobody')}\n`,
        suites: writeSuite(labDir('bounce'), 'bounce', BOUNCE_SUITE),
        env: { DEVLAB_DOCKER_SOCKET: engine.socket },
      });
      labs.push(lab);
      const { server } = lab;
      const { run } = await server.controlPlane.submit({ query: 'tag:bounce' });
      const [job] = server.store.jobs.listByRun(run.id);
      const queue = new Queue(poolQueueName(job!.pool), {
        connection: server.redis,
        prefix: lab.config.redisPrefix,
      });
      try {
        // Attempt 1 ends as an infrastructure error on the agent's device, as its agent would report it.
        await (await queue.getJob(attemptJobId(job!.id, 1)))?.remove();
        const at = Date.now();
        await server.controlPlane.onReport({
          runId: run.id,
          jobId: job!.id,
          attempt: 1,
          deviceId: 'bounce-box-a',
          agent: 'fault-bounce',
          status: 'error',
          error: { message: 'connect ECONNREFUSED /var/run/docker.sock (injected)', kind: 'infra' },
          startedAt: at,
          endedAt: at,
          artifacts: [],
          cases: [],
        });
        expect((await queue.getJob(attemptJobId(job!.id, 2)))?.data).toMatchObject({
          attempt: 2,
          avoidDevices: ['bounce-box-a'],
        });
        await lab.startAgent('fault-bounce', ['--app-url', 'http://127.0.0.1:9/']);

        expect(await waitForRunOrExplain(lab, run.id, 30_000)).toBe('passed');
        const [result] = expectOneResultPerJob(server.store, run.id);
        expect(result!.attempts.map((a) => [a.attempt, a.status, a.deviceId])).toEqual([
          [1, 'error', 'bounce-box-a'],
          [2, 'passed', 'bounce-box-a'],
        ]);
        // It was put back each time the avoided device took it, then run there.
        expect((await queue.getJob(attemptJobId(job!.id, 2)))?.data.bounced).toBe(5);
        await expectNoLeaseLeft(server.redis, `${lab.config.redisPrefix}:`);
      } finally {
        await queue.close();
      }
    },
    60_000,
  );

  it.skipIf(!up)(
    'an agent whose devices name their own engine reaps that engine at start, not only the configured one',
    async () => {
      // The configured engine stays the default one; the devices run on the private engine, where a
      // container of this agent's earlier life is still running.
      const leftover = await engine.docker.createContainer({
        Image: IMAGE,
        Cmd: ['sleep', '3600'],
        Labels: {
          [LABEL_AGENT]: 'fault-reap',
          [LABEL_DEVICE]: 'reap-box-a',
          [LABEL_INSTANCE]: 'an-earlier-life',
        },
        HostConfig: { NetworkMode: 'none' },
      });
      await leftover.start();
      expect(await engine.agentContainers('fault-reap')).toHaveLength(1);
      const lab = await startFaultLab({
        dir: labDir('reap'),
        name: 'reap',
        inventoryYaml: `devices:${box('reap-box-a', engine.socket, 'fault-reap')}\n`,
        suites: writeSuite(labDir('reap'), 'reap', BOUNCE_SUITE),
        env: {},
      });
      labs.push(lab);
      // Ready means its start-up is done, the reaping included.
      await lab.startAgent('fault-reap', ['--app-url', 'http://127.0.0.1:9/']);
      expect(await engine.agentContainers('fault-reap')).toEqual([]);
    },
    60_000,
  );
});
