import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';

/**
 * A redis-server of a test's (or the soak's) own on a loopback port, AOF on, stopped and started again by
 * PID: an outage is made on it, the shared Redis on 6379 is never touched.
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  constructor(
    /** Its data dir (the append-only file survives a stop). */
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts it (on the same port and data every time) and resolves once it answers PING. */
  async start(timeoutMs = 15_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--dir',
        this.dir,
      ],
      // Its own process group: a signal to the caller's group (Ctrl-C, `timeout`) leaves it to the caller's
      // cleanup, which may still need it (a control plane closing waits for its Redis).
      { stdio: 'ignore', detached: true },
    );
    this.child = child;
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
    const probe = new Redis(this.url, {
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    // Refused connections are expected until it listens; the last one is in the timeout's message.
    let lastError = '';
    probe.on('error', (err: Error) => {
      lastError = err.message;
    });
    const deadline = Date.now() + timeoutMs;
    try {
      while (true) {
        const failed = await Promise.race([
          spawnFailed,
          new Promise<null>((r) => setTimeout(() => r(null), 50)),
        ]);
        if (failed) throw new Error(`redis-server could not be started: ${failed.message}`);
        if (child.exitCode !== null)
          throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`);
        if (probe.status !== 'ready')
          await probe.connect().catch((err: Error) => {
            lastError = err.message;
          });
        if (probe.status === 'ready' && (await probe.ping().catch(() => null)) === 'PONG') return;
        if (Date.now() > deadline)
          throw new Error(
            `redis-server on port ${this.port} did not answer within ${timeoutMs} ms (${lastError})`,
          );
      }
    } finally {
      probe.disconnect();
    }
  }

  /** SIGTERM (the append-only file flushed, as a restart does) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
}
