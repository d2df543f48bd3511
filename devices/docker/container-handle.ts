import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ContainerHandle } from '../device.ts';
import { DeviceError, DeviceTimeoutError } from '../errors.ts';
import { tarOneFile, untar } from './archive.ts';

/** Exec and copy helpers on one running container, handed to container test bodies. */
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
    const exec = await this.container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
    const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stream.destroy();
        reject(new DeviceTimeoutError(`exec ${JSON.stringify(cmd)} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      await Promise.race([ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
    const info = await exec.inspect();
    const result = {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
    this.history.push({ cmd, ...result });
    return result;
  }

  async readFile(pathInContainer: string): Promise<Buffer> {
    const files = await untar(await this.container.getArchive({ path: pathInContainer }));
    const content = files.get(path.posix.basename(pathInContainer)) ?? [...files.values()][0];
    if (!content) throw new DeviceError('test', `${pathInContainer} is not a regular file in ${this.id}`);
    return content;
  }

  async writeFile(pathInContainer: string, content: string | Buffer): Promise<void> {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    await this.container.putArchive(await tarOneFile(pathInContainer, data), {
      path: path.posix.dirname(pathInContainer),
    });
  }
}
