import type Docker from 'dockerode';
import type { ContainerHandle } from '../device.ts';
import { DeviceError } from '../errors.ts';
import { execInContainer } from './exec.ts';

/** How long reading or writing one file may take. */
const FILE_TIMEOUT_MS = 60_000;

/**
 * Exec and file helpers on one running container, handed to container test bodies. Files are read and
 * written by an exec (`cat`) as the container's user: the engine's archive API sees neither the tmpfs
 * folders a test writes to nor, for writes, anything but the read-only root file system.
 */
export class DockerContainerHandle implements ContainerHandle {
  /** Every exec with its outcome, kept as an artifact when the test fails. */
  readonly history: Array<{ cmd: string[]; exitCode: number; stdout: string; stderr: string }> = [];

  constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
  ) {}

  get id(): string {
    return this.container.id;
  }

  async exec(
    cmd: string[],
    options: { timeoutMs?: number } = {},
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const res = await execInContainer(this.docker, this.container, cmd, {
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const result = {
      exitCode: res.exitCode,
      stdout: res.stdout.toString('utf8'),
      stderr: res.stderr.toString('utf8'),
    };
    this.history.push({ cmd, ...result });
    return result;
  }

  async readFile(pathInContainer: string): Promise<Buffer> {
    const res = await execInContainer(this.docker, this.container, ['cat', pathInContainer], {
      timeoutMs: FILE_TIMEOUT_MS,
    });
    if (res.exitCode !== 0) {
      throw new DeviceError(
        'test',
        `cannot read ${pathInContainer} in container ${this.id.slice(0, 12)}: ${reason(res)}`,
      );
    }
    return res.stdout;
  }

  /** Writes (creates or replaces) a file; only the container's writable folders (tmpfs) take one. */
  async writeFile(pathInContainer: string, content: string | Buffer): Promise<void> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const res = await execInContainer(
      this.docker,
      this.container,
      ['sh', '-c', 'cat > "$1"', 'sh', pathInContainer],
      { stdin: data, timeoutMs: FILE_TIMEOUT_MS },
    );
    if (res.exitCode !== 0) {
      throw new DeviceError(
        'test',
        `cannot write ${pathInContainer} in container ${this.id.slice(0, 12)}: ${reason(res)}`,
      );
    }
  }
}

function reason(res: { exitCode: number; stdout: Buffer; stderr: Buffer }): string {
  const text = res.stderr.toString('utf8').trim() || res.stdout.toString('utf8').trim();
  return `${text || 'no message'} (exit ${res.exitCode})`;
}
