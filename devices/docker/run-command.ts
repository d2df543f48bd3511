import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Artifact } from '../device.ts';
import { readTree, resultArtifacts } from './archive.ts';

export type LogListener = (stream: 'stdout' | 'stderr', line: string) => void;

export interface CommandOutcome {
  exitCode: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  artifacts: Artifact[];
}

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
 * Runs a created container's own command to the end: logs streamed line by line while it runs, killed
 * at the deadline, then exit code, logs and the files under `resultsPath`. The caller removes it.
 */
export async function runToCompletion(
  docker: Docker,
  container: Docker.Container,
  options: { timeoutMs: number; resultsPath: string; onLog?: LogListener; signal?: AbortSignal },
): Promise<CommandOutcome> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  // Attached before start, so the stream sees every line; `logs: true` would replay them twice.
  const logs = await container.attach({ stream: true, stdout: true, stderr: true });
  docker.modem.demuxStream(
    logs,
    lineSplitter('stdout', out, options.onLog),
    lineSplitter('stderr', err, options.onLog),
  );
  const logsDone = new Promise<void>((resolve) => {
    logs.on('end', resolve);
    logs.on('close', resolve);
    logs.on('error', () => resolve());
  });
  // Asked before start: the default condition (not-running) would answer at once for a created container.
  const waited = container.wait({ condition: 'next-exit' });
  await container.start();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const kill = () => {
    timedOut = true;
    container.kill({ signal: 'SIGKILL' }).catch(() => {});
  };
  timer = setTimeout(kill, options.timeoutMs);
  options.signal?.addEventListener('abort', kill, { once: true });
  let exitCode: number | null = null;
  try {
    const result = (await waited) as { StatusCode?: number };
    exitCode = typeof result.StatusCode === 'number' ? result.StatusCode : null;
  } finally {
    clearTimeout(timer);
    timer = undefined;
    options.signal?.removeEventListener('abort', kill);
  }
  // The attach stream ends right after the process; don't wait forever if the engine keeps it open.
  await Promise.race([logsDone, new Promise((r) => setTimeout(r, 1000))]);
  const files = await readTree(container, options.resultsPath);
  const artifacts = resultArtifacts(files);
  return {
    exitCode: timedOut ? null : exitCode,
    timedOut,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    artifacts,
  };
}
