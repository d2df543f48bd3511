import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { redactText } from '../redact.ts';
import { hubCommandUrl, hubEndpoint, hubHeaders } from './hub-url.ts';
import { type AppiumLog, silentLog } from './log.ts';
import { groupGone, groupMembers, signalGroup } from './process-group.ts';

export interface AppiumServerOptions {
  host: string;
  port: number;
  /** APPIUM_HOME: the folder whose package.json lists the installed drivers. */
  appiumHome: string;
  /** Server log file; the folder is created. */
  logFile?: string;
  startTimeoutMs?: number;
  /** More server arguments, e.g. `['--allow-insecure', '*:session_discovery']`. */
  args?: string[];
  /** How long `stop()` waits after SIGTERM before it kills the server's process group (default 5 s). */
  stopGraceMs?: number;
  /** The server process was spawned: its pid is its process group's id (e.g. for a pid file). */
  onSpawn?(pid: number): void;
  /** The server exited on its own after it was ready (not through `stop()`); its group is already killed. */
  onExit?(exit: AppiumExit): void;
  log?: AppiumLog;
}

export interface AppiumStatus {
  ready: boolean;
  build?: { version?: string };
}

/**
 * Asks an Appium server (or a hub in front of one) for `<path>/status`. Credentials in `url` are sent as
 * an `Authorization: Basic` header, never in the URL (fetch refuses those). Throws when nothing answers
 * or the answer is not a status; the message never holds the credentials.
 */
export async function fetchAppiumStatus(url: string, timeoutMs = 2000): Promise<AppiumStatus> {
  const hub = hubEndpoint(url);
  let res: Response;
  try {
    res = await fetch(hubCommandUrl(hub, 'status'), {
      headers: hubHeaders(hub),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // undici says `fetch failed` and puts why (ECONNREFUSED, a DNS failure) in the cause.
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const why =
      typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : (err as Error).message;
    throw new Error(redactText(`Appium /status on ${hub.display} did not answer: ${why}`));
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`Appium /status on ${hub.display} answered HTTP ${res.status} ${res.statusText}`.trim());
  }
  const body = (await res.json().catch(() => null)) as { value?: AppiumStatus } | null;
  if (!body?.value) throw new Error(`Appium /status on ${hub.display} answered no status`);
  return body.value;
}

/** Asks a running Appium server for `/status`; null when nothing answers (see `fetchAppiumStatus`). */
export async function appiumStatus(url: string, timeoutMs = 2000): Promise<AppiumStatus | null> {
  try {
    return await fetchAppiumStatus(url, timeoutMs);
  } catch {
    return null;
  }
}

/** The installed Appium 3 entry point, resolved from the project's node_modules. */
export function appiumMain(appiumHome: string): string {
  const require = createRequire(path.join(appiumHome, 'package.json'));
  return require.resolve('appium');
}

/** How an Appium server process ended. */
export interface AppiumExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long it ran. */
  uptimeMs: number;
}

/** `signal SIGKILL` or `code 1`, for messages. */
export function describeExit(exit: Pick<AppiumExit, 'code' | 'signal'>): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * An Appium server that devlab started itself (or found already running on the port).
 * `stop()` ends only a server this object started.
 *
 * The server leads its own process group (spawned detached), and what it starts (chromedriver, Chromium)
 * stays in that group: when the server exits, however it exits, the rest of its group is killed with it.
 * Its output goes straight to the log file, so it does not depend on the process that started it.
 */
export class AppiumServer {
  readonly url: string;
  private child: ChildProcess | null = null;
  /** Settles when the current child exits; a caller that comes late still hears of it. */
  private exited: Promise<AppiumExit> | null = null;
  private readonly log: AppiumLog;

  constructor(private readonly options: AppiumServerOptions) {
    this.url = `http://${options.host}:${options.port}`;
    this.log = options.log ?? silentLog;
  }

  /** The server's pid, which is also its process group id; undefined when this object runs none. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while a server this object started runs. */
  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the server unless one answers on the port; `signal` gives up a start (the server is stopped). */
  async start(signal?: AbortSignal): Promise<this> {
    if (this.child) return this;
    if (await appiumStatus(this.url)) return this;
    signal?.throwIfAborted();
    const { appiumHome, host, port, logFile } = this.options;
    const fields = { component: 'appium', port };
    const args = [
      appiumMain(appiumHome),
      'server',
      '--address',
      host,
      '--port',
      String(port),
      '--log-level',
      'warn',
      ...(this.options.args ?? []),
    ];
    let out: number | 'ignore' = 'ignore';
    if (logFile) {
      mkdirSync(path.dirname(logFile), { recursive: true });
      out = openSync(logFile, 'a');
    }
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, {
        env: { ...process.env, APPIUM_HOME: appiumHome },
        stdio: ['ignore', out, out],
        // Its own process group, so that what the server started (chromedriver, Chromium) can go with it.
        detached: true,
      });
    } finally {
      if (typeof out === 'number') closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const failed = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`Appium server on ${this.url} did not start: ${failed.message}`);
    }
    child.on('error', (err) =>
      this.log.error({ ...fields, pid, err: err.message }, `Appium server ${pid}: ${err.message}`),
    );
    this.child = child;
    const spawnedAt = Date.now();
    const exited = new Promise<AppiumExit>((resolve) =>
      child.once('exit', (code, signal) => resolve({ pid, code, signal, uptimeMs: Date.now() - spawnedAt })),
    );
    this.exited = exited;
    let ready = false;
    void exited.then((exit) => {
      // A server that crashed or was killed -9 leaves its chromedrivers and their Chromium running,
      // orphaned: whatever is left of its group is killed now.
      this.killLeftovers(pid);
      // Stopped (stop() let go of it first) or exited on its own.
      if (this.child !== child) return;
      this.child = null;
      this.exited = null;
      if (ready) this.options.onExit?.(exit);
    });
    this.options.onSpawn?.(pid);

    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    const readyOrExited = (async () => {
      while (Date.now() < deadline) {
        signal?.throwIfAborted();
        if ((await appiumStatus(this.url, 1000))?.ready) return;
        const exit = await Promise.race([exited, sleep(250, null)]);
        if (exit)
          throw new Error(
            `Appium server exited with ${describeExit(exit)} before it was ready${logFile ? ` (log: ${logFile})` : ''}`,
          );
      }
      throw new Error(
        `Appium server on ${this.url} was not ready after ${this.options.startTimeoutMs ?? 60_000} ms`,
      );
    })();
    try {
      await readyOrExited;
    } catch (err) {
      await this.stop();
      throw err;
    }
    ready = true;
    return this;
  }

  /**
   * Ends the server this object started, and whatever is left of its process group: SIGTERM (Appium ends
   * its sessions), SIGKILL to the whole group after `stopGraceMs`. Bounded: it resolves even if the
   * process never exits (logged). A server that already exited (a code, or killed by a signal) only has
   * its leftovers killed.
   */
  async stop(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    this.child = null;
    this.exited = null;
    if (!child?.pid || !exited) return;
    const pid = child.pid;
    const fields = { component: 'appium', port: this.options.port, pid };
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGTERM');
      } catch (err) {
        this.log.warn({ ...fields, err: (err as Error).message }, `SIGTERM to Appium server ${pid} failed`);
      }
      const grace = this.options.stopGraceMs ?? 5000;
      if (!(await settlesWithin(exited, grace))) {
        this.log.warn(
          fields,
          `Appium server ${pid} did not stop within ${grace} ms; killing its process group`,
        );
        this.killLeftovers(pid);
        if (!(await settlesWithin(exited, 2000)))
          this.log.error(fields, `Appium server ${pid} still runs after SIGKILL; giving up on it`);
      }
    }
    this.killLeftovers(pid);
    if (!(await groupGone(pid, 2000)))
      this.log.error(
        { ...fields, left: groupMembers(pid).map((m) => m.pid) },
        `processes of Appium server ${pid}'s group outlived SIGKILL`,
      );
  }

  /** SIGKILL to what is left of the server's process group (nothing left: nothing to do). */
  private killLeftovers(pgid: number): void {
    try {
      signalGroup(pgid, 'SIGKILL');
    } catch (err) {
      this.log.error(
        { component: 'appium', port: this.options.port, pid: pgid, err: (err as Error).message },
        `cannot kill the process group of Appium server ${pgid}`,
      );
    }
  }
}
