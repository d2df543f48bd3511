import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireHostLock, tryHostLock } from '../../devices/appium/host-lock.ts';
import { alive, until } from '../faults/fault-lab.ts';

const name = `test-lock-${process.pid}`;
const children: number[] = [];
afterAll(() => {
  for (const pid of children) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('host lock (abstract Unix socket)', () => {
  it('one holder at a time; free again after release', async () => {
    const first = await tryHostLock(name);
    expect(first).not.toBeNull();
    expect(await tryHostLock(name)).toBeNull();
    await expect(acquireHostLock(name, { timeoutMs: 300, pollMs: 50 })).rejects.toThrow(
      /host lock test-lock-\d+ was still held by another process after 300 ms/,
    );
    await first!.release();
    const second = await acquireHostLock(name, { timeoutMs: 1000 });
    await second.release();
  });

  it('a holder killed -9 leaves no stale lock', async () => {
    // Another process takes the lock as an agent would, and is killed -9 holding it.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen({ path: '\\0devlab-${name}-killed' }, () => console.log('held'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child.pid!);
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    expect(await tryHostLock(`${name}-killed`)).toBeNull();
    child.kill('SIGKILL');
    await until('the holder to die', () => !alive(child.pid), 5000, 20);
    const lock = await until('the lock to be free', () => tryHostLock(`${name}-killed`), 5000, 20);
    await lock.release();
  });
});
