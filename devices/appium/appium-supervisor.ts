import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppiumServer, type AppiumExit, type AppiumServerOptions, describeExit } from './appium-server.ts';
import { type AppiumLog, silentLog } from './log.ts';
import {
  appiumProcessKind,
  type GroupMember,
  groupGone,
  groupMembers,
  signalGroup,
} from './process-group.ts';

/** What a pid file records of the server's process group. */
interface PidRecord {
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

export interface AppiumSupervisorOptions {
  server: Omit<AppiumServerOptions, 'onSpawn' | 'onExit' | 'log'>;
  /** Where the running server's process group is recorded, so that a next life can reap it. */
  pidFile: string;
  log?: AppiumLog;
  /** The first restart's delay (default 1 s); each crash in a row doubles it, up to `maxRestartDelayMs`. */
  restartDelayMs?: number;
  /** Default 30 s. */
  maxRestartDelayMs?: number;
  /** A server that ran this long before it died is restarted after the first delay again (default 60 s). */
  stableAfterMs?: number;
  /** The server answers again after a restart (e.g. to re-check its devices' health now). */
  onRestarted?(server: AppiumServer): void;
}

/**
 * An Appium server the agent started and keeps running: when it exits on its own (crash, kill -9) its
 * process group is killed and it is started again on the same port after a growing delay (1 s, 2 s, 4 s,
 * ... at most 30 s; back to 1 s after it ran a minute). Its process group is written to a pid file for as
 * long as it runs, so that a next life of the agent can reap it (`reapAppiumLeftovers`) if this one is
 * killed -9. While another server answers on the port, it is left alone and looked at again later.
 */
export class AppiumSupervisor {
  readonly url: string;
  private readonly server: AppiumServer;
  private readonly log: AppiumLog;
  private readonly firstDelayMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private restarting: Promise<void> | null = null;
  /** Gives up a restart under way when the supervisor stops. */
  private readonly stopping = new AbortController();
  private stopped = false;
  private toldForeign = false;

  constructor(private readonly options: AppiumSupervisorOptions) {
    this.log = options.log ?? silentLog;
    this.firstDelayMs = options.restartDelayMs ?? 1000;
    this.delayMs = this.firstDelayMs;
    this.server = new AppiumServer({
      ...options.server,
      log: this.log,
      onSpawn: (pid) => this.record(pid),
      onExit: (exit) => this.exited(exit),
    });
    this.url = this.server.url;
  }

  /** The running server's pid (its process group id); undefined while none of this supervisor's runs. */
  get pid(): number | undefined {
    return this.server.pid;
  }

  private get fields() {
    return { component: 'appium', port: this.options.server.port };
  }

  /** Starts the server (throws if it does not get ready); one already answering on the port is left alone. */
  async start(): Promise<this> {
    try {
      await this.server.start();
    } catch (err) {
      this.forget();
      throw err;
    }
    return this;
  }

  /** No restart any more (e.g. while the agent stops), the server kept running until `stop()`. */
  stopRestarting(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Ends the server and its process group (bounded, see `AppiumServer.stop`), and no restart after it. */
  async stop(): Promise<void> {
    this.stopRestarting();
    // A restart under way gives up (its server, if spawned, is stopped by it) before this one stops.
    this.stopping.abort(new Error('the Appium supervisor stops'));
    await this.restarting;
    await this.server.stop();
    this.forget();
  }

  private record(pid: number): void {
    const record: PidRecord = {
      pgid: pid,
      port: this.options.server.port,
      startTicks: startTicks(pid),
      bootId: bootId(),
      agentPid: process.pid,
    };
    const file = this.options.pidFile;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`);
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      // The server runs all the same; only a kill -9 of the agent would leave it behind.
      this.log.error(
        { ...this.fields, pid, pidFile: file, err: (err as Error).message },
        `cannot record Appium server ${pid} in ${file}: a killed agent would leave it running`,
      );
    }
  }

  private forget(): void {
    try {
      rmSync(this.options.pidFile, { force: true });
    } catch (err) {
      this.log.error(
        { ...this.fields, pidFile: this.options.pidFile, err: (err as Error).message },
        `cannot remove the Appium pid file ${this.options.pidFile}`,
      );
    }
  }

  private nextDelay(): number {
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.options.maxRestartDelayMs ?? 30_000);
    return delay;
  }

  private exited(exit: AppiumExit): void {
    this.forget();
    if (this.stopped) return;
    if (exit.uptimeMs >= (this.options.stableAfterMs ?? 60_000)) this.delayMs = this.firstDelayMs;
    const delay = this.nextDelay();
    this.log.warn(
      { ...this.fields, pid: exit.pid, code: exit.code, signal: exit.signal, restartInMs: delay },
      `Appium exited (${describeExit(exit)}), restarting in ${delay / 1000} s`,
    );
    this.schedule(delay);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.restarting = this.restart().finally(() => {
        this.restarting = null;
      });
    }, delay);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.server.start(this.stopping.signal);
    } catch (err) {
      this.forget();
      if (this.stopped) return;
      const delay = this.nextDelay();
      this.log.error(
        { ...this.fields, err: (err as Error).message, restartInMs: delay },
        `Appium restart on ${this.url} failed: ${(err as Error).message}; trying again in ${delay / 1000} s`,
      );
      this.schedule(delay);
      return;
    }
    if (!this.server.running) {
      // Someone started a server on the port meanwhile: not ours to stop; taken over if it goes away.
      if (!this.toldForeign)
        this.log.warn(
          this.fields,
          `another Appium server answers on ${this.url}; not restarting one there while it does`,
        );
      this.toldForeign = true;
      this.schedule(this.options.maxRestartDelayMs ?? 30_000);
      return;
    }
    this.toldForeign = false;
    if (this.stopped) {
      await this.server.stop();
      return;
    }
    this.log.info(
      { ...this.fields, pid: this.server.pid },
      `Appium restarted on ${this.url} (pid ${this.server.pid})`,
    );
    try {
      this.options.onRestarted?.(this.server);
    } catch (err) {
      this.log.error(
        { ...this.fields, err: (err as Error).message },
        `after the Appium restart: ${(err as Error).message}`,
      );
    }
  }
}
