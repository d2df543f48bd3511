import { type ChildProcess, spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';

/** A `devlab` command running as its own process (as on another lab host), its output captured. */
export interface DevlabProcess {
  child: ChildProcess;
  output: () => string;
  /** kill -9 of the process and everything it started (it leads its own process group). */
  kill9(): void;
  /** SIGTERM to its group, SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

export type AgentProcess = DevlabProcess;

export interface SpawnOptions {
  /** Resolves once the output contains this. */
  ready: string;
  startTimeoutMs?: number;
  /** Called at once, before it is ready, so that a caller can stop it even if the start fails. */
  track?(process: DevlabProcess): void;
  /** Working directory; default the checkout. */
  cwd?: string;
  /** What runs devlab (program, then its first arguments); default node with the checkout's bin. */
  bin?: [string, ...string[]];
}

/** `devlab <command> ...args` as a separate process; killed if it does not get ready in time. */
export function spawnDevlab(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: SpawnOptions,
): Promise<DevlabProcess> {
  const { ready, startTimeoutMs = 60_000 } = options;
  const [program, ...leading] = options.bin ?? [process.execPath, `${PROJECT_ROOT}/harness/cli/devlab.js`];
  const child = spawn(program, [...leading, command, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, ...env },
    // It leads its own process group: a stop ends whatever it started too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const handle: DevlabProcess = {
    child,
    output: () => out,
    kill9: () => killGroup('SIGKILL'),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
  options.track?.(handle);
  return new Promise<DevlabProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup('SIGKILL');
      reject(new Error(`devlab ${command} did not start within ${startTimeoutMs} ms:\n${out}`));
    }, startTimeoutMs);
    child.stdout?.on('data', () => {
      if (!out.includes(ready)) return;
      clearTimeout(timer);
      resolve(handle);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`devlab ${command} exited with ${code}:\n${out}`));
    });
  });
}

/** `devlab agent` as a real separate process, as on another lab host. Resolves once it is taking jobs. */
export function spawnAgent(args: string[], env: Record<string, string>): Promise<AgentProcess> {
  return spawnDevlab('agent', args, env, { ready: 'devlab agent ' });
}
