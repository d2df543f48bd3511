import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { DeviceTimeoutError } from '../errors.ts';

export interface ExecOptions {
  /** Written to the process's stdin, which is then closed. */
  stdin?: Buffer;
  /** The stream is given up (and this rejects) after this long; the process itself is not stopped. */
  timeoutMs?: number;
}

export interface ExecOutcome {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/**
 * Runs `cmd` in a running container as the container's user (an exec: the only way into its tmpfs
 * folders, which the engine's archive API does not see) and waits for its output to end.
 */
export async function execInContainer(
  docker: Docker,
  container: Docker.Container,
  cmd: string[],
  options: ExecOptions = {},
): Promise<ExecOutcome> {
  const withStdin = options.stdin !== undefined;
  const exec = await container.exec({
    Cmd: cmd,
    AttachStdin: withStdin,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: withStdin });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
  const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
  docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  if (withStdin) stream.end(options.stdin);
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
  return { exitCode: await exitCodeOf(exec), stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

/** The exec's exit code; the engine may record it a moment after the output ended. */
export async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let i = 0; ; i++) {
    const info = await exec.inspect();
    if (!info.Running || i >= 40) return info.ExitCode ?? -1;
    await sleep(50);
  }
}
