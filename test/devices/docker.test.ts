import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import { DockerDriver } from '../../devices/docker/docker-driver.ts';
import type { DockerSession } from '../../devices/docker/docker-session.ts';
import { LABEL_AGENT } from '../../devices/docker/labels.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { DOCKER_SOCKET, dockerUp, requireService } from '../support/services.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const up = await requireService('Docker engine', dockerUp);
const AGENT = `devlab-test-devices-${randomUUID().slice(0, 8)}`;

/** A reference device moved onto this test's agent label, so the test's containers are its own. */
function device(id: string): DeviceRecord {
  const d = loadInventory().find((x) => x.id === id);
  if (!d) throw new Error(`no ${id} in the reference inventory`);
  return { ...d, host: AGENT, settings: { ...d.settings, socket: DOCKER_SOCKET } };
}

async function labelled(docker: Docker, agent: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL_AGENT}=${agent}`] } });
}

function junit(artifacts: { name: string; data: Buffer }[]): string {
  return artifacts.find((a) => a.name === 'results/junit.xml')?.data.toString('utf8') ?? '';
}

describe.skipIf(!up)('docker driver (real engine, reference images)', () => {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const driver = new DockerDriver({ imageSpecs: REFERENCE_IMAGE_SPECS });
  let r1: DockerSession;
  let lite: DockerSession;

  beforeAll(async () => {
    r1 = await driver.openSession(device('stb-ref-r1'));
    lite = await driver.openSession(device('stb-ref-r2-lite'));
  });
  afterAll(async () => {
    await r1?.close();
    await lite?.close();
    await reapContainers(docker, AGENT, 'none');
    expect(await labelled(docker, AGENT)).toEqual([]);
  });

  it('runs the conformance command: passes on R1 with JUnit results and streamed logs', async () => {
    const res = await r1.runCommand({ timeoutMs: 30_000 });
    expect(res.status).toBe('passed');
    expect(res.exitCode).toBe(0);
    expect(junit(res.artifacts)).toMatch(/tests="8" failures="0"/);
    expect(res.artifacts.find((a) => a.name === 'stdout.log')?.data.toString()).toContain(
      '8 checks, 0 failed',
    );
  });

  it('fails on the lite model for real reasons read from its device config', async () => {
    const res = await lite.runCommand({
      timeoutMs: 30_000,
      cmd: ['/opt/conformance/run.sh', 'media', 'drm'],
    });
    expect(res.status).toBe('failed');
    expect(res.exitCode).toBe(1);
    expect(res.error?.kind).toBe('test');
    const xml = junit(res.artifacts);
    expect(xml).toMatch(/failures="3"/);
    expect(xml).toContain('MEMORY_MB=512 is below the 1024 MB needed for 2160p buffers');
    expect(xml).toContain('Widevine L3');
  });

  it('a test body passes using exec, writeFile and readFile, in a locked-down container', async () => {
    const res = await r1.run(
      async ({ container }) => {
        if (!container) throw new Error('no container handle');
        const info = await docker.getContainer(container.id).inspect();
        expect(info.HostConfig.NetworkMode).toBe('none');
        expect(info.HostConfig.Privileged).toBe(false);
        expect(info.HostConfig.CapDrop).toEqual(['ALL']);
        expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
        expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
        expect(info.HostConfig.PidsLimit).toBe(64);
        expect(info.Config.Labels).toMatchObject({ 'devlab.agent': AGENT, 'devlab.device': 'stb-ref-r1' });
        await container.writeFile('/tmp/probe.txt', 'hello device');
        expect((await container.readFile('/tmp/probe.txt')).toString()).toBe('hello device');
        const run = await container.exec(['/opt/conformance/run.sh', 'boot', 'storage']);
        expect(run.exitCode).toBe(0);
        expect((await container.readFile('/results/junit.xml')).toString()).toMatch(/tests="3" failures="0"/);
      },
      { timeoutMs: 30_000 },
    );
    expect(res.error).toBeUndefined();
    expect(res.status).toBe('passed');
    expect(junit(res.artifacts)).toMatch(/tests="3"/);
  });

  it('a test body that asserts on the lite model fails, with results and the exec log as artifacts', async () => {
    const res = await lite.run(
      async ({ container }) => {
        const run = await container!.exec(['/opt/conformance/run.sh', 'media']);
        expect(run.stdout, 'media conformance').toContain('0 failed');
      },
      { timeoutMs: 30_000 },
    );
    expect(res.status).toBe('failed');
    expect(res.error?.message).toContain('media conformance');
    expect(junit(res.artifacts)).toContain('uhd-buffer-memory');
    const log = JSON.parse(res.artifacts.find((a) => a.name === 'exec-log.json')!.data.toString());
    expect(log[0].exitCode).toBe(1);
  });

  it('a container that disappears under the test is an infrastructure error, not a failure', async () => {
    const res = await r1.run(
      async ({ container }) => {
        await docker.getContainer(container!.id).remove({ force: true });
        await container!.exec(['true']);
      },
      { timeoutMs: 30_000 },
    );
    expect(res.status).toBe('error');
    expect(res.error?.kind).toBe('infrastructure');
  });

  it('kills a command at its deadline and removes the container', async () => {
    const res = await r1.runCommand({ timeoutMs: 500, cmd: ['sleep', '30'] });
    expect(res.status).toBe('timed-out');
    expect(res.exitCode).toBeNull();
    expect(await labelled(docker, AGENT)).toEqual([]);
  });

  it('the reaper removes the containers a killed agent left behind', async () => {
    const agent = `${AGENT}-killed`;
    const child = spawn(
      'npx',
      [
        'tsx',
        path.join(HERE, 'fixtures', 'agent-with-containers.ts'),
        DOCKER_SOCKET,
        agent,
        'devlab/stb-reference:1',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.join(HERE, '..', '..') },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`agent exited early with ${code}`)));
      child.stdout?.on('data', (c: Buffer) => {
        const m = /READY (\d+)/.exec(c.toString());
        if (m) resolve(Number(m[1]));
      });
    });
    child.removeAllListeners('exit');
    process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
    expect((await labelled(docker, agent)).filter((c) => c.State === 'running')).toHaveLength(2);
    // The next life of the agent starts with a new instance id and reaps the old one's containers.
    const reaped = await reapContainers(docker, agent, randomUUID());
    expect(reaped.removed).toHaveLength(2);
    expect(reaped.failed).toEqual([]);
    expect(await labelled(docker, agent)).toEqual([]);
  }, 60_000);
});
