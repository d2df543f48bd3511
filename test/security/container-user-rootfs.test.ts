import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import { DockerDriver } from '../../devices/docker/docker-driver.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { dockerSettingsSchema } from '../../devices/docker/settings.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { REFERENCE_IMAGE_SPECS } from '../../devices/reference-lab/images/stb-reference.ts';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { defineTest } from '../../suites/define-test.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import {
  containersOf,
  dockerBoxInventory,
  type ExecResult,
  inspectOwn,
  runProbes,
  startAgentLab,
} from '../support/container-probe.ts';
import { type LabHarness, waitForRun } from '../support/lab-harness.ts';
import { DOCKER_SOCKET, dockerUp, redisUp, requireService } from '../support/services.ts';

const AGENT = `agent-sec-rootfs-${process.pid}`;
const DEVICE = 'sec-rootfs-box-1';
const CONFORMANCE = fileURLToPath(new URL('../../suites/conformance', import.meta.url));
/** The manifests run end to end: `boot` reads the image, `storage` writes 1 MiB twice to /tmp. */
const MANIFESTS = ['stb.conformance.boot', 'stb.conformance.storage'];

const INVENTORY = dockerBoxInventory({
  id: DEVICE,
  name: 'read-only root box',
  model: 'sec-rootfs-box',
  host: AGENT,
  memoryMb: 64,
});

const docker = new Docker({ socketPath: DOCKER_SOCKET });

/** What the probing test body saw of its own container while it ran. */
const seen: {
  inspect?: Docker.ContainerInspectInfo;
  inside?: Record<string, ExecResult>;
  writeFileError?: string;
  tmpRoundTrip?: string;
} = {};

/** Shell probes run inside the container, as its user. */
const PROBES: Record<string, string> = {
  uid: 'id -u',
  gid: 'id -g',
  writeRoot: 'echo x > /probe',
  writeImage: 'touch /opt/conformance/probe',
  rootMount: 'grep " / " /proc/mounts',
  results: 'id -u > /results/whoami.txt && ls -ln /results/whoami.txt',
};

const PROBE_TEST = defineTest(
  {
    id: 'sec.rootfs',
    title: 'Inspects its own user and root file system',
    component: 'platform',
    owner: 'qa',
    timeoutMs: 60_000,
    requires: { drivers: ['docker'] },
  },
  async ({ container }) => {
    if (!container) throw new Error('no container handle');
    seen.inspect = await inspectOwn(docker, container);
    seen.inside = await runProbes(container, PROBES);
    seen.writeFileError = await container.writeFile('/etc/probe', 'x').then(
      () => 'written',
      (err: Error) => err.message,
    );
    await container.writeFile('/tmp/probe.txt', 'round trip');
    seen.tmpRoundTrip = (await container.readFile('/tmp/probe.txt')).toString('utf8');
  },
);

function isRoot(user: string): boolean {
  const [uid = '', gid = ''] = user.split(':');
  return ['', '0', 'root'].includes(uid) || ['0', 'root'].includes(gid);
}

describe('docker settings: the container user is never root', () => {
  const base = { image: 'x' };
  it('defaults to nobody and a size-capped scratch space', () => {
    const s = dockerSettingsSchema.parse(base);
    expect(s.user).toBe('65534:65534');
    expect(s.scratchMb).toBe(64);
  });
  it('refuses root, names and a results folder that is not below /', () => {
    for (const user of ['0:0', '1000:0', '0:1000', 'root', 'nobody:nogroup', '1000'])
      expect([user, dockerSettingsSchema.safeParse({ ...base, user }).success]).toEqual([user, false]);
    expect(dockerSettingsSchema.safeParse({ ...base, user: '1000:1000' }).success).toBe(true);
    expect(dockerSettingsSchema.safeParse({ ...base, resultsPath: '/' }).success).toBe(false);
    expect(dockerSettingsSchema.safeParse({ ...base, resultsPath: '/out/' }).success).toBe(false);
  });
});

describe('test containers run as a non-root user on a read-only root file system (real agent and engine)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness;
  let runId: string;

  beforeAll(async () => {
    if (!up) return;
    const catalog = await loadCatalog([CONFORMANCE]);
    const manifests: TestDefinition[] = catalog.entries
      .filter((e) => MANIFESTS.includes(e.id))
      .map((e) => e.definition);
    expect(manifests.map((t) => t.id).sort()).toEqual(MANIFESTS);
    lab = await startAgentLab({
      agent: AGENT,
      inventory: INVENTORY,
      file: 'sec-rootfs.yaml',
      tests: [PROBE_TEST, ...manifests],
    });
    const { run } = await lab.controlPlane.submit({ build: 'b-rootfs' });
    runId = run.id;
  });
  afterAll(async () => {
    await lab?.close();
    if (up) await reapContainers(docker, AGENT, 'none');
  });

  it.skipIf(!up)('the engine runs the test container as a non-root user with a read-only root', async () => {
    expect(await waitForRun(lab.store, runId, 90_000)).toBe('passed');
    const info = seen.inspect!;
    expect(info).toBeDefined();
    expect(info.State.Running).toBe(true);
    expect(isRoot(info.Config.User)).toBe(false);
    expect(info.Config.User).toBe('65534:65534');
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    // The writable folders are tmpfs mounts (size-capped, in memory): no host path, no volume.
    const tmpfs = (info.HostConfig as { Tmpfs?: Record<string, string> }).Tmpfs ?? {};
    expect(Object.keys(tmpfs).sort()).toEqual(['/results', '/tmp']);
    expect(tmpfs['/results']).toMatch(/(^|,)uid=65534(,|$)/);
    expect(tmpfs['/results']).toMatch(/(^|,)size=\d+m(,|$)/);
    expect(tmpfs['/tmp']).toMatch(/(^|,)size=\d+m(,|$)/);
    expect(info.Mounts).toEqual([]);
    expect(info.HostConfig.Binds ?? []).toEqual([]);
  });

  it.skipIf(!up)('inside, the processes are not root and writing to / or the image fails', () => {
    const inside = seen.inside!;
    expect(inside).toBeDefined();
    expect(inside['uid']!.stdout.trim()).toBe('65534');
    expect(inside['gid']!.stdout.trim()).toBe('65534');
    for (const probe of ['writeRoot', 'writeImage']) {
      expect([probe, inside[probe]!.exitCode]).not.toEqual([probe, 0]);
      expect(inside[probe]!.stderr).toMatch(/Read-only file system/);
    }
    expect(inside['rootMount']!.stdout).toMatch(/^\S+ \/ \S+ ro[, ]/m);
    expect(seen.writeFileError).toMatch(/cannot write \/etc\/probe.*Read-only file system/);
    // The writable folders work, and the results folder belongs to the container's user.
    expect(seen.tmpRoundTrip).toBe('round trip');
    expect(inside['results']!.exitCode).toBe(0);
    expect(inside['results']!.stdout).toMatch(/\s65534\s+65534\s/);
  });

  it.skipIf(!up)('container tests still produce results, JUnit cases and the JUnit report', async () => {
    const jobs = lab.store.jobs.listByRun(runId);
    expect(Object.fromEntries(jobs.map((j) => [j.testId, j.verdict]))).toEqual({
      'sec.rootfs': 'passed',
      'stb.conformance.boot': 'passed',
      'stb.conformance.storage': 'passed',
    });
    const results = (await (await fetch(`${lab.apiUrl}/api/runs/${runId}/results`)).json()) as {
      jobs: { testId: string; artifacts: { url: string; name: string }[] }[];
    };
    const byTest = new Map(results.jobs.map((j) => [j.testId, j]));
    const text = async (testId: string, name: string) => {
      const artifact = byTest.get(testId)?.artifacts.find((a) => a.name === name);
      expect(artifact, `${testId}: ${name}`).toBeDefined();
      return (await fetch(`${lab.apiUrl}${artifact!.url}`)).text();
    };
    // The results folder (a tmpfs) is collected after the body: the probe's file and the runner's JUnit.
    expect((await text('sec.rootfs', 'results/whoami.txt')).trim()).toBe('65534');
    expect(await text('stb.conformance.boot', 'junit.xml')).toMatch(/tests="2" failures="0"/);
    expect(await text('stb.conformance.boot', 'results/junit.xml')).toMatch(/tests="2" failures="0"/);
    expect(await text('stb.conformance.storage', 'junit.xml')).toContain('name="tmp-roundtrip"');
    const cases = (testId: string) => {
      const job = jobs.find((j) => j.testId === testId)!;
      return lab.store.attempts.casesOf(job.id, job.attempts).map((c) => `${c.name}:${c.verdict}`);
    };
    expect(cases('stb.conformance.boot').sort()).toEqual(['device-config:passed', 'firmware-version:passed']);
    expect(cases('stb.conformance.storage')).toEqual(['tmp-roundtrip:passed']);
    const junit = await (await fetch(`${lab.apiUrl}/api/runs/${runId}/junit`)).text();
    expect(junit).toContain('stb.conformance.storage › tmp-roundtrip');
  });

  it.skipIf(!up)('the containers are gone once the tests are done', async () => {
    expect(await containersOf(docker, AGENT)).toEqual([]);
  });
});

describe('a device command runs as the container user and its tmpfs results are collected (real engine)', async () => {
  const up = await requireService('Docker engine', dockerUp);
  const agent = `devlab-test-rootfs-cmd-${randomUUID().slice(0, 8)}`;
  const driver = new DockerDriver({ imageSpecs: REFERENCE_IMAGE_SPECS });
  const device: DeviceRecord = {
    ...parseInventory(INVENTORY, 'sec-rootfs.yaml')[0]!,
    host: agent,
  };
  afterAll(async () => {
    await driver.dispose();
    if (up) await reapContainers(docker, agent, 'none');
  });

  it.skipIf(!up)('runCommand: JUnit and result files written by the non-root command', async () => {
    const session = await driver.openSession(device);
    try {
      const res = await session.runCommand({
        timeoutMs: 30_000,
        cmd: [
          'sh',
          '-c',
          'id -u > /results/uid.txt; if touch /probe 2>/results/rootfs.txt; then exit 9; fi; exec /opt/conformance/run.sh boot',
        ],
      });
      const file = (name: string) => res.artifacts.find((a) => a.name === name)?.data.toString('utf8');
      expect(res.status).toBe('passed');
      expect(file('results/uid.txt')?.trim()).toBe('65534');
      expect(file('results/rootfs.txt')).toMatch(/Read-only file system/);
      expect(file('results/junit.xml')).toMatch(/tests="2" failures="0"/);
      expect(file('stdout.log')).toContain('2 checks, 0 failed');
    } finally {
      await session.close();
    }
  });

  it.skipIf(!up)('a command killed at its deadline still leaves the results it wrote', async () => {
    const session = await driver.openSession(device);
    try {
      const res = await session.runCommand({
        timeoutMs: 1500,
        cmd: ['sh', '-c', 'echo partial > /results/partial.txt; echo started; sleep 30'],
      });
      expect(res.status).toBe('timed-out');
      expect(res.exitCode).toBeNull();
      expect(res.artifacts.find((a) => a.name === 'results/partial.txt')?.data.toString()).toBe('partial\n');
      expect(res.artifacts.find((a) => a.name === 'stdout.log')?.data.toString()).toBe('started\n');
    } finally {
      await session.close();
    }
    expect(await containersOf(docker, agent)).toEqual([]);
  });
});
