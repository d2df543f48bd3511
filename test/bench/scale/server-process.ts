import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../../harness/config/project-root.ts';
import type { ChildCommand, ChildReply, ServerSpec } from './server-protocol.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server-child.ts');

/** The measured control plane's process, seen from the bench: commands over IPC, one answer each. */
export class ServerProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: ChildReply) => void>();

  private constructor(
    private readonly child: ChildProcess,
    /** Spawn to ready, on the bench's clock. */
    readonly startupMs: number,
    readonly ready: ChildReply,
  ) {
    child.on('message', (reply: ChildReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  /** Spawns `server-child.ts` with `env` and resolves on its ready message (rejects if it exits first). */
  static async start(spec: ServerSpec, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ServerProcess> {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...(process.env['BENCH_PROF'] ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []),
        // BENCH_NODE_FLAGS='--max-semi-space-size=64 ...': V8 flags for the measured process (experiments).
        ...(process.env['BENCH_NODE_FLAGS']?.split(' ').filter(Boolean) ?? []),
        '--import',
        'tsx',
        CHILD,
        JSON.stringify(spec),
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
    );
    const ready = await new Promise<ChildReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`control plane not ready after ${timeoutMs} ms`));
      }, timeoutMs);
      child.once('message', (reply: ChildReply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`control plane exited with ${code} before ready`));
      });
    });
    return new ServerProcess(child, performance.now() - t0, ready);
  }

  request(cmd: ChildCommand): Promise<ChildReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, cmd }, (err) => err && reject(err));
    });
  }

  /** Closes the service (or kills the process after `graceMs`) and waits for the exit. */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.request('close').catch(() => this.child.kill('SIGKILL'));
    await exited;
    clearTimeout(timer);
  }
}
