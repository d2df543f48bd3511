import type Docker from 'dockerode';
import type { DeviceRecord } from '../device.ts';
import { containerLabels, DEFAULT_LAB } from './labels.ts';
import type { DockerSettings } from './settings.ts';

/** Keeps a container alive for exec-driven tests; removal kills it. */
export const KEEPALIVE_CMD = ['sleep', '2147483647'];

/** Scratch space every container gets (besides its results folder), world-writable like a usual /tmp. */
export const SCRATCH_PATH = '/tmp';

/**
 * The container's only writable folders: tmpfs mounts (memory, size-capped, counted in the container's
 * memory limit, gone with it; no host path). The results folder belongs to the container's user.
 */
export function writableFolders(settings: DockerSettings): Record<string, string> {
  const [uid, gid] = settings.user.split(':');
  const size = `size=${settings.scratchMb}m`;
  return {
    [SCRATCH_PATH]: `rw,exec,nosuid,nodev,${size},mode=1777`,
    [settings.resultsPath]: `rw,noexec,nosuid,nodev,${size},uid=${uid},gid=${gid},mode=0755`,
  };
}

/**
 * A locked-down container for one test: a non-root user, a read-only root file system with tmpfs
 * folders to write to, no network (or host when opted in), limits, no privileges.
 */
export function createDeviceContainer(
  docker: Docker,
  device: DeviceRecord,
  settings: DockerSettings,
  options: { instance: string; cmd: string[]; lab?: string },
): Promise<Docker.Container> {
  return docker.createContainer({
    Image: settings.image,
    Cmd: options.cmd,
    Env: Object.entries(settings.env).map(([k, v]) => `${k}=${v}`),
    User: settings.user,
    Labels: containerLabels({
      lab: options.lab ?? DEFAULT_LAB,
      agentId: device.host,
      deviceId: device.id,
      instance: options.instance,
    }),
    NetworkDisabled: settings.network === 'none',
    // A stop (the engine shutting down, a restart) gives the test 1 s after SIGTERM, not Docker's 10 s:
    // a keepalive `sleep` as PID 1 ignores SIGTERM and would hold the engine's restart up.
    StopTimeout: 1,
    HostConfig: {
      NetworkMode: settings.network,
      ReadonlyRootfs: true,
      Tmpfs: writableFolders(settings),
      Memory: settings.memoryMb * 1024 * 1024,
      MemorySwap: settings.memoryMb * 1024 * 1024,
      NanoCpus: Math.round(settings.cpus * 1e9),
      PidsLimit: settings.pidsLimit,
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      AutoRemove: false,
    },
  });
}

/** Force removal (kills a running container); a container already gone is fine. */
export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw err;
  }
}
