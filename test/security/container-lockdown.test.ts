import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_AGENT, LABEL_DEVICE, LABEL_INSTANCE } from '../../devices/docker/labels.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { defineTest } from '../../suites/define-test.ts';
import { call } from '../api/authed-api.ts';
import {
  containersOf,
  dockerBoxInventory,
  inspectOwn,
  runProbes,
  startAgentLab,
} from '../support/container-probe.ts';
import { type LabHarness, waitForRun } from '../support/lab-harness.ts';
import { DOCKER_SOCKET, dockerUp, redisUp, requireService } from '../support/services.ts';

const AGENT = `agent-sec-lock-${process.pid}`;
const DEVICE = 'sec-lock-box-1';
const MEMORY_MB = 48;
const CPUS = 0.5;
const PIDS = 40;

const INVENTORY = dockerBoxInventory({
  id: DEVICE,
  name: 'security lockdown box',
  model: 'sec-lock-box',
  host: AGENT,
  memoryMb: MEMORY_MB,
  settings: { cpus: CPUS, pidsLimit: PIDS },
});

const docker = new Docker({ socketPath: DOCKER_SOCKET });
/** The lab's own API on the host's loopback, probed from inside the container. */
let probeUrl = '';

/** What the test body saw from inside its container and what the engine says about it, while it ran. */
const seen: {
  inspect?: Docker.ContainerInspectInfo;
  inside?: Record<string, { exitCode: number | null; stdout: string; stderr: string }>;
} = {};

/** Shell probes run inside the container; cgroup v2 paths first, v1 as the fallback. */
const PROBES: Record<string, string> = {
  status: 'grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status',
  netdev: 'cat /proc/net/dev',
  mounts: 'cat /proc/mounts',
  pidsMax: 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max',
  memoryMax: 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
  cpuMax:
    'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
  dockerSock: 'ls -la /var/run/docker.sock /run/docker.sock 2>&1; true',
  chown: 'touch /tmp/f && chown 1234 /tmp/f',
  mknod: 'mknod /tmp/dev-null c 1 3',
  hostname: 'hostname newname',
};

const TESTS = [
  defineTest(
    {
      id: 'sec.lockdown',
      title: 'Inspects its own container',
      component: 'platform',
      owner: 'qa',
      timeoutMs: 60_000,
      requires: { drivers: ['docker'] },
    },
    async ({ container }) => {
      if (!container) throw new Error('no container handle');
      seen.inspect = await inspectOwn(docker, container);
      const inside: NonNullable<typeof seen.inside> = await runProbes(container, PROBES);
      // The lab's own API on the host's loopback: unreachable from a container without a network.
      inside['api'] = await container.exec(['sh', '-c', `wget -q -T 3 -O - ${probeUrl}/api/health`]);
      seen.inside = inside;
    },
  ),
];

describe('a test body runs in a locked-down container (real agent, docker driver and engine)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness;
  let runId: string;

  beforeAll(async () => {
    if (!up) return;
    lab = await startAgentLab({ agent: AGENT, inventory: INVENTORY, file: 'sec-lock.yaml', tests: TESTS });
    probeUrl = lab.apiUrl;
    const { run } = await lab.controlPlane.submit({ build: 'b-lock' });
    runId = run.id;
  });
  afterAll(async () => {
    await lab?.close();
    if (up) await reapContainers(docker, AGENT, 'none');
  });

  it.skipIf(!up)(
    'the engine shows no network, no privileges, no capabilities, limits and no host mounts',
    async () => {
      expect(await waitForRun(lab.store, runId, 60_000)).toBe('passed');
      // The API the body probed really is up on the host (so "unreachable" below means the container's view).
      expect((await call(`${lab.apiUrl}/api/health`, null)).status).toBe(200);
      const info = seen.inspect!;
      expect(info).toBeDefined();
      const host = info.HostConfig;
      expect(host.NetworkMode).toBe('none');
      expect(Object.keys(info.NetworkSettings.Networks ?? {}).filter((n) => n !== 'none')).toEqual([]);
      expect((info.Config as { NetworkDisabled?: boolean }).NetworkDisabled).toBe(true);
      // A stop does not wait Docker's default 10 s on a PID 1 that ignores SIGTERM.
      expect((info.Config as { StopTimeout?: number }).StopTimeout).toBe(1);
      expect(host.Privileged).toBe(false);
      expect(host.CapDrop).toEqual(['ALL']);
      expect(host.CapAdd ?? []).toEqual([]);
      expect(host.SecurityOpt).toContain('no-new-privileges');
      expect((host.SecurityOpt ?? []).some((o: string) => /unconfined|apparmor[:=]unconfined/.test(o))).toBe(
        false,
      );
      expect(host.Memory).toBe(MEMORY_MB * 1024 * 1024);
      expect(host.MemorySwap).toBe(MEMORY_MB * 1024 * 1024);
      expect(host.NanoCpus).toBe(CPUS * 1e9);
      expect(host.PidsLimit).toBe(PIDS);
      // Nothing of the host's inside: no binds, volumes, devices, namespaces or published ports.
      expect(host.Binds ?? []).toEqual([]);
      expect(info.Mounts).toEqual([]);
      expect((host as { Mounts?: unknown[] }).Mounts ?? []).toEqual([]);
      expect(host.VolumesFrom ?? []).toEqual([]);
      expect(host.Devices ?? []).toEqual([]);
      expect(host.PidMode ?? '').not.toBe('host');
      expect(host.IpcMode ?? '').not.toBe('host');
      expect(host.UTSMode ?? '').not.toBe('host');
      expect(host.UsernsMode ?? '').not.toBe('host');
      expect(host.PortBindings ?? {}).toEqual({});
      expect(host.PublishAllPorts ?? false).toBe(false);
      // Labels name the agent that owns it (so its reaper, and only its reaper, removes it).
      expect(info.Config.Labels).toMatchObject({ [LABEL_AGENT]: AGENT, [LABEL_DEVICE]: DEVICE });
      expect(info.Config.Labels[LABEL_INSTANCE]).toMatch(/\S/);
    },
  );

  it.skipIf(!up)(
    'from inside: no capabilities, no new privileges, seccomp on, limits enforced by cgroups',
    () => {
      const inside = seen.inside!;
      expect(inside).toBeDefined();
      const status = inside['status']!.stdout;
      expect(status).toMatch(/CapEff:\s+0{16}/);
      expect(status).toMatch(/CapPrm:\s+0{16}/);
      expect(status).toMatch(/CapBnd:\s+0{16}/);
      expect(status).toMatch(/CapAmb:\s+0{16}/);
      expect(status).toMatch(/NoNewPrivs:\s+1/);
      expect(status).toMatch(/Seccomp:\s+2/);
      // Operations root could do with capabilities fail without them.
      for (const probe of ['chown', 'mknod', 'hostname']) {
        expect([probe, inside[probe]!.exitCode === 0]).toEqual([probe, false]);
        expect(inside[probe]!.stderr).toMatch(/Operation not permitted/);
      }
      expect(inside['pidsMax']!.stdout.trim()).toBe(String(PIDS));
      expect(Number(inside['memoryMax']!.stdout.trim())).toBe(MEMORY_MB * 1024 * 1024);
      const [quota, period] = inside['cpuMax']!.stdout.trim().split(/\s+/).map(Number);
      expect(quota! / period!).toBeCloseTo(CPUS, 5);
    },
  );

  it.skipIf(!up)(
    'from inside: only loopback, no engine socket, no host filesystem, no way to the host',
    () => {
      const inside = seen.inside!;
      const interfaces = inside['netdev']!.stdout.split('\n')
        .slice(2)
        .map((l) => l.split(':')[0]!.trim())
        .filter(Boolean);
      expect(interfaces).toEqual(['lo']);
      expect(inside['dockerSock']!.stdout).toMatch(/No such file or directory/);
      expect(inside['dockerSock']!.stdout).not.toMatch(/srw/);
      // Only the container's own file systems: no bind mount of a host path (ext4/xfs/btrfs of the host disk).
      const mounts = inside['mounts']!.stdout.split('\n').filter(Boolean);
      expect(mounts.length).toBeGreaterThan(3);
      const hostDisk = mounts.filter((m) => /\s(ext[234]|xfs|btrfs|zfs|vfat)\s/.test(m));
      // Docker's own /etc/hosts, /etc/hostname and /etc/resolv.conf files come from its data dir; nothing else.
      expect(
        hostDisk
          .map((m) => m.split(' ')[1])
          .filter((p) => !/^\/etc\/(hosts|hostname|resolv\.conf)$/.test(p!)),
      ).toEqual([]);
      expect(inside['api']!.exitCode).not.toBe(0);
      expect(inside['api']!.stdout).not.toContain('"ok":true');
    },
  );

  it.skipIf(!up)('the container is gone once the test is done', async () => {
    expect(await containersOf(docker, AGENT)).toEqual([]);
  });
});
