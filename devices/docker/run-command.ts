import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Artifact } from '../device.ts';
import { readTree, resultArtifacts } from './archive.ts';
import { execInContainer, exitCodeOf } from './exec.ts';

export type LogListener = (stream: 'stdout' | 'stderr', line: string) => void;

export interface CommandOutcome {
  exitCode: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  artifacts: Artifact[];
  /** Why the result files could not be read (the verdict stands without them). */
  resultsError?: string;
}

/** How often the command's exec is asked whether it is still running. */
const POLL_MS = 200;
/** After the command exits, how long its output may take to drain. */
const DRAIN_MS = 1000;
/** After the command is killed, how long it may take to go before the container is killed instead. */
const STOP_GRACE_MS = 5000;

function lineSplitter(name: 'stdout' | 'stderr', sink: Buffer[], onLog?: LogListener): PassThrough {
  let rest = '';
  return new PassThrough().on('data', (chunk: Buffer) => {
    sink.push(chunk);
    if (!onLog) return;
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLog(name, line);
  });
}

/**
 * Kills every process of the container but its keepalive PID 1 (`kill -KILL -1` run as the container's
 * user), so the tmpfs results stay readable; when that cannot run, the container itself is killed (its
 * results go with it). Says why when it had to kill the container.
 */
async function killCommand(docker: Docker, container: Docker.Container): Promise<string | undefined> {
  let why: string;
  try {
    const res = await execInContainer(docker, container, ['kill', '-KILL', '-1'], { timeoutMs: 5000 });
    // 1: nothing left to kill. 126/127: no `kill` in the image.
    if (res.exitCode === 0 || res.exitCode === 1) return undefined;
    why = `kill exited ${res.exitCode}: ${res.stderr.toString('utf8').trim() || res.stdout.toString('utf8').trim()}`;
  } catch (err) {
    why = (err as Error).message;
  }
  return killContainer(container, `could not stop the command inside the container (${why})`);
}

async function killContainer(container: Docker.Container, why: string): Promise<string> {
  try {
    await container.kill({ signal: 'SIGKILL' });
    return `${why}; the container was killed`;
  } catch (err) {
    return `${why}; killing the container failed too: ${(err as Error).message}`;
  }
}

/**
 * Runs `cmd` to the end in a started container (kept alive by its own PID 1): logs streamed line by line
 * while it runs, every process but PID 1 killed at the deadline or on abort, then the exit code, logs and
 * the files under `resultsPath`, read while the container still runs (a tmpfs goes with the container).
 * The caller removes the container.
 */
export async function runToCompletion(
  docker: Docker,
  container: Docker.Container,
  options: {
    cmd: string[];
    timeoutMs: number;
    resultsPath: string;
    onLog?: LogListener;
    signal?: AbortSignal;
  },
): Promise<CommandOutcome> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const exec = await container.exec({ Cmd: options.cmd, AttachStdout: true, AttachStderr: true });
  const logs = await exec.start({ hijack: true, stdin: false });
  docker.modem.demuxStream(
    logs,
    lineSplitter('stdout', out, options.onLog),
    lineSplitter('stderr', err, options.onLog),
  );
  let logsEnded = false;
  const logsDone = new Promise<void>((resolve) => {
    const done = () => {
      logsEnded = true;
      resolve();
    };
    logs.on('end', done);
    logs.on('close', done);
    logs.on('error', done);
  });
  let timedOut = false;
  let stopping: Promise<string | undefined> | undefined;
  let stoppedAt = 0;
  const stop = () => {
    stoppedAt ||= performance.now();
    stopping ??= killCommand(docker, container);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  let exitCode: number | null = null;
  try {
    // The output ends when the command exits, unless a child it left behind keeps it open: then the exec's
    // state says it has exited.
    let running = true;
    let escalated: Promise<string> | undefined;
    while (running && !logsEnded) {
      await Promise.race([logsDone, sleep(POLL_MS)]);
      if (!logsEnded) running = (await exec.inspect()).Running;
      // Still running well after it was told to stop: the whole container goes.
      if (running && stoppedAt && !escalated && performance.now() - stoppedAt > STOP_GRACE_MS)
        escalated = killContainer(container, `the command still ran ${STOP_GRACE_MS} ms after it was killed`);
    }
    if (escalated) {
      const why = await escalated;
      stopping = Promise.resolve(why);
    }
    exitCode = await exitCodeOf(exec);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  }
  // Leftover processes of the command (as when a PID 1 exits) go before the results are read.
  if (!logsEnded) {
    await Promise.race([logsDone, sleep(DRAIN_MS)]);
    if (!logsEnded) stop();
  }
  const stopError = stopping ? await stopping : undefined;
  let artifacts: Artifact[] = [];
  let resultsError = stopError;
  try {
    artifacts = resultArtifacts(await readTree(docker, container, options.resultsPath));
  } catch (e) {
    resultsError = `${resultsError ? `${resultsError}; ` : ''}results not read: ${(e as Error).message}`;
  }
  return {
    exitCode: timedOut ? null : exitCode,
    timedOut,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    artifacts,
    ...(resultsError ? { resultsError } : {}),
  };
}
