import { setTimeout as sleep } from 'node:timers/promises';
import { readdirSync, readFileSync } from 'node:fs';

/** A live process of a process group, from the process table (/proc). */
export interface GroupMember {
  pid: number;
  /** The command line, arguments separated by spaces. */
  command: string;
}

/** The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, ... */
function statFields(pid: string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

/**
 * The live members of process group `pgid` (zombies, exited but not yet reaped by their parent, are not
 * members any more). Empty where there is no /proc.
 */
export function groupMembers(pgid: number): GroupMember[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: GroupMember[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    if (!fields || fields[0] === 'Z' || Number(fields[2]) !== pgid) continue;
    let command = '';
    try {
      command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // gone meanwhile
    }
    members.push({ pid: Number(name), command });
  }
  return members;
}

/** Sends `signal` to every process of group `pgid`; false when the group has no process left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Resolves true once group `pgid` has no live member, false when `timeoutMs` passed first. */
export async function groupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (groupMembers(pgid).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/** What a process of an Appium server's group is, by its command line (for logs and the reaper's check). */
export function appiumProcessKind(command: string): 'appium' | 'chromedriver' | 'chromium' | null {
  const program = command.split(' ', 1)[0] ?? '';
  if (/chromedriver/.test(program)) return 'chromedriver';
  if (/chrom(e|ium)/i.test(program)) return 'chromium';
  if (/(^|\/)appium(\/|$)/.test(command)) return 'appium';
  return null;
}
