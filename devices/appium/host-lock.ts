import { setTimeout as sleep } from 'node:timers/promises';
import net from 'node:net';

/** A lock this process holds; `release()` frees it for the other processes of the host. */
export interface HostLock {
  release(): Promise<void>;
}

/**
 * A lock shared by every process of this host (and network namespace): an abstract Unix socket named
 * `devlab-<name>` (Linux), which only one process can listen on at a time. The kernel frees it when its
 * holder dies, however it dies, so an agent killed -9 leaves no stale lock behind (a lock file would, and
 * lock-file libraries recover from that only after a staleness timeout). Resolves null when another
 * process (or another holder in this one) has it.
 */
export function tryHostLock(name: string): Promise<HostLock | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    // A lock never keeps the process alive on its own.
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(null);
      else reject(new Error(`cannot take the host lock ${name}: ${err.message}`));
    });
    server.listen({ path: `\0devlab-${name}` }, () =>
      resolve({ release: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

/**
 * Waits for the host lock `name` (asking again every `pollMs`, default 100 ms); throws when `timeoutMs`
 * passed first, saying what it waited for, or when `signal` aborts.
 */
export async function acquireHostLock(
  name: string,
  options: { timeoutMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<HostLock> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const lock = await tryHostLock(name);
    if (lock) return lock;
    if (Date.now() >= deadline)
      throw new Error(
        `the host lock ${name} was still held by another process after ${options.timeoutMs} ms`,
      );
    await sleep(options.pollMs ?? 100);
  }
}

/** Whether a process of this host (this one included) holds the lock `name` now. */
export async function hostLockHeld(name: string): Promise<boolean> {
  const lock = await tryHostLock(name);
  if (!lock) return true;
  await lock.release();
  return false;
}
