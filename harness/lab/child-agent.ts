import { type ChildProcess, spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../config/project-root.ts';

/** A `devlab agent` process started by the demo (as on another lab host), stopped with it. */
export class ChildAgent {
  private child: ChildProcess | null = null;
  private out = '';

  constructor(
    readonly host: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  get output(): string {
    return this.out;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    const child = spawn(
      process.execPath,
      [`${PROJECT_ROOT}/harness/cli/devlab.js`, 'agent', '--host', this.host, ...this.args],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`agent ${this.host} did not start:\n${this.out}`)),
        timeoutMs,
      );
      const onData = () => {
        if (!this.out.includes(`devlab agent ${this.host}`)) return;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent ${this.host} exited with ${code}:\n${this.out}`));
      });
    });
  }

  /** SIGTERM lets the agent close its sessions, containers and servers; SIGKILL after a grace period. */
  async stop(graceMs = 20_000): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
