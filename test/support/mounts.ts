import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// Folders made read-only or full for everyone, root included (root ignores file modes, not a read-only
// mount): what an artifact store's disk does in an outage. Needs root with CAP_SYS_ADMIN (`canMount`).

/** Whether this process may bind-mount (root with CAP_SYS_ADMIN). */
export function canMount(): boolean {
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-mount-probe-'));
  try {
    execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    // Not allowed (no root, no CAP_SYS_ADMIN, no mount binary): the answer is no.
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `dir` read-only for everyone, root included: writes fail with EROFS. */
export function mountReadOnly(dir: string): void {
  execFileSync('mount', ['--bind', dir, dir]);
  execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
}

/** A full disk over `dir`: a 4 KiB tmpfs already filled, so every write fails with ENOSPC. */
export function mountFull(dir: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k,nr_inodes=8', 'tmpfs', dir]);
  try {
    writeFileSync(path.join(dir, 'filler'), Buffer.alloc(64 * 1024));
  } catch {
    // filled up to its size: what it is for
  }
}

/** The mount points at or under `root`, newest (and innermost) first. */
export function mountsUnder(root: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .reverse();
}

/** Unmounts every mount under `root`, innermost and newest first (lazily when one is busy). */
export function unmountAll(root: string): void {
  for (const mount of mountsUnder(root)) {
    try {
      execFileSync('umount', [mount], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
    }
  }
}
