// An agent: a `devlab agent` child process in its own process group, and every process seen under it.
import { type ChildProcess, spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../../../harness/config/project-root.ts';
import { descendantsOf, type ProcInfo, stillAlive } from './procs.ts';
import { sleep } from './sleep.ts';

export class AgentProc {
  readonly child: ChildProcess;
  /** Every process seen under this agent (pid + start time, so a reused pid is not mistaken for it). */
  readonly seen = new Map<number, ProcInfo>();
  private out = '';
  private intended = false;
  /** It exited without being told to. */
  crashed = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly host: string,
    readonly generation: number,
    argv: string[],
    env: Record<string, string>,
    onUnexpectedExit: (agent: AgentProc, code: number | null, signal: string | null) => void,
  ) {
    this.child = spawn(process.execPath, [`${PROJECT_ROOT}/harness/cli/devlab.js`, 'agent', ...argv], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => {
      this.out += d.toString();
      if (this.out.length > 64_000) this.out = this.out.slice(-32_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        if (!this.intended) {
          this.crashed = true;
          onUnexpectedExit(this, code, signal);
        }
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return this.out;
  }

  /** Resolves once the agent prints its banner (it takes jobs from then on). */
  async ready(timeoutMs = 120_000): Promise<void> {
    const started = Date.now();
    while (!this.out.includes(`devlab agent ${this.host}:`)) {
      if (!this.alive)
        throw new Error(`agent ${this.host} exited before it was ready:\n${this.out.slice(-4000)}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`agent ${this.host} not ready within ${timeoutMs} ms:\n${this.out.slice(-4000)}`);
      await sleep(50);
    }
  }

  track(procs: ProcInfo[]): void {
    if (!this.alive) return;
    const self = procs.find((p) => p.pid === this.pid);
    if (self) this.seen.set(self.pid, self);
    for (const p of descendantsOf(this.pid, procs)) this.seen.set(p.pid, p);
  }

  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }

  kill9(): Promise<unknown> {
    this.intended = true;
    this.signalGroup('SIGKILL');
    return this.exited;
  }

  /** SIGTERM (the agent finishes its running attempts and closes its sessions); SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<{ forced: boolean; ms: number }> {
    this.intended = true;
    const t0 = Date.now();
    if (!this.alive) return { forced: false, ms: 0 };
    this.signalGroup('SIGTERM');
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.signalGroup('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
    return { forced, ms: Date.now() - t0 };
  }

  /** Processes it started that are still running after it is gone (checked after an exit). */
  leftovers(): ProcInfo[] {
    return [...this.seen.values()].filter((p) => p.pid !== this.pid && stillAlive(p));
  }
}
