import { type ChildProcess, spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  /** kill -9 of the agent and everything it started (it leads its own process group). */
  kill9(): void;
  stop(): Promise<void>;
}

/** `devlab agent` as a real separate process, as on another lab host. Resolves once it is taking jobs. */
export async function spawnAgent(args: string[], env: Record<string, string>): Promise<AgentProcess> {
  const child = spawn(process.execPath, [`${PROJECT_ROOT}/harness/cli/devlab.js`, 'agent', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start within 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('devlab agent ')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}:\n${out}`));
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  return {
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
}
