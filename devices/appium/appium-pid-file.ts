import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type AppiumLog, silentLog } from './log.ts';
import {
  appiumProcessKind,
  type GroupMember,
  groupGone,
  groupMembers,
  signalGroup,
} from './process-group.ts';

/** What a pid file records of the server's process group. */
export interface PidRecord {
  /** The server's pid, which is its process group's id. */
  pgid: number;
  port: number;
  /** The leader's start time (clock ticks after boot, /proc/<pid>/stat field 22) and the boot it ran in. */
  startTicks: string | null;
  bootId: string | null;
  /** The agent process that started it. */
  agentPid: number;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

const bootId = (): string | null => readText('/proc/sys/kernel/random/boot_id');

function startTicks(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  return stat ? (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null) : null;
}

/** "appium 1, chromedriver 1, chromium 9" */
function tally(members: readonly GroupMember[]): string {
  const counts = new Map<string, number>();
  for (const m of members) {
    const kind = appiumProcessKind(m.command) ?? 'other';
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ');
}

export interface ReapedAppium {
  pgid: number;
  /** The processes killed (none when the group had ended already). */
  killed: GroupMember[];
}

/**
 * Run at agent start: kills the process group of the Appium server an earlier life of the agent started
 * and could not stop (it was killed -9), as its pid file records it: the server if it still runs, its
 * chromedrivers and their Chromium. The group is killed only if it is that server's (the leader's start
 * time and the boot match, or the leader is gone and the group still exists, which keeps its id from
 * being reused) and a member is an Appium, chromedriver or Chromium process. The pid file is removed.
 * Returns null when there was nothing to look at.
 */
export async function reapAppiumLeftovers(
  pidFile: string,
  log: AppiumLog = silentLog,
): Promise<ReapedAppium | null> {
  const text = readText(pidFile);
  if (text === null) return null;
  const fields = { component: 'appium', pidFile };
  const forget = () => {
    try {
      rmSync(pidFile, { force: true });
    } catch (err) {
      log.error({ ...fields, err: (err as Error).message }, `cannot remove the Appium pid file ${pidFile}`);
    }
  };
  let record: PidRecord;
  try {
    record = JSON.parse(text) as PidRecord;
    if (!Number.isInteger(record.pgid) || record.pgid <= 1) throw new Error(`no process group in it`);
  } catch (err) {
    log.warn({ ...fields, err: (err as Error).message }, `unreadable Appium pid file ${pidFile}; removed`);
    forget();
    return null;
  }
  const { pgid } = record;
  const members = groupMembers(pgid);
  const leader = members.find((m) => m.pid === pgid);
  const sameBoot = !record.bootId || record.bootId === bootId();
  const sameLeader = !leader || (sameBoot && (!record.startTicks || record.startTicks === startTicks(pgid)));
  if (members.length === 0) {
    forget();
    return { pgid, killed: [] };
  }
  if (!sameBoot || !sameLeader || !members.some((m) => appiumProcessKind(m.command))) {
    log.warn(
      { ...fields, pgid, port: record.port, processes: tally(members) },
      `process group ${pgid} of the Appium pid file is not that server's any more; left alone`,
    );
    forget();
    return null;
  }
  if (members.some((m) => m.pid === process.pid)) {
    log.error({ ...fields, pgid }, `the Appium pid file names this agent's own process group; left alone`);
    forget();
    return null;
  }
  try {
    signalGroup(pgid, 'SIGKILL');
  } catch (err) {
    log.error(
      { ...fields, pgid, port: record.port, err: (err as Error).message },
      `cannot kill the Appium process group ${pgid} a previous life left`,
    );
    return null;
  }
  if (!(await groupGone(pgid, 5000)))
    log.error(
      { ...fields, pgid, port: record.port, left: groupMembers(pgid).map((m) => m.pid) },
      `processes of Appium process group ${pgid} outlived SIGKILL`,
    );
  log.warn(
    { ...fields, pgid, port: record.port, agentPid: record.agentPid, processes: tally(members) },
    `reaped ${members.length} process(es) of the Appium server on port ${record.port} a previous life left (${tally(members)})`,
  );
  forget();
  return { pgid, killed: members };
}

/** Records Appium server `pid` (its process group) listening on `port` in `file`, for a next life to reap. */
export function writePidRecord(file: string, pid: number, port: number): void {
  const record: PidRecord = {
    pgid: pid,
    port,
    startTicks: startTicks(pid),
    bootId: bootId(),
    agentPid: process.pid,
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  renameSync(`${file}.tmp`, file);
}
