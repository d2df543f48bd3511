import { rmSync } from 'node:fs';
import { writePidRecord } from './appium-pid-file.ts';
import {
  AppiumServer,
  type AppiumExit,
  type AppiumServerOptions,
  appiumStatus,
  describeExit,
} from './appium-server.ts';
import { acquireHostLock, type HostLock, hostLockHeld } from './host-lock.ts';
import { type AppiumLog, silentLog } from './log.ts';

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
  /**
   * While the server on the port is another process's (another agent of this host, or one started by
   * hand), how often it is asked for its status; once it does not answer, this supervisor starts one
   * there (default 2 s).
   */
  watchIntervalMs?: number;
  /** The server answers again after a restart (e.g. to re-check its devices' health now). */
  onRestarted?(server: AppiumServer): void;
}

/** The host lock of the Appium port: one process of the host at a time starts or stops a server on it. */
const portLock = (port: number) => `appium-${port}`;
/** Held by the agent whose server answers on the port, for as long as it runs: it is a devlab agent's. */
const ownerMark = (port: number) => `appium-${port}-owner`;

/**
 * An Appium server on a port that the agents of this host keep answering. The agents whose devices name
 * the same local server share it: the first to start starts it, the others watch it (its `/status` every
 * `watchIntervalMs`), and when it is gone (its agent stopped, or it crashed) one of them starts it again.
 * Starting and stopping a server on the port happen under a host lock (`host-lock.ts`), so only one does
 * and the next one finds it answering; the agent whose server runs holds a second host lock, the owner
 * mark, which tells the others that it is a devlab agent's (and stays one for them while it answers,
 * even after its agent was killed -9). A server started outside devlab (by hand, by a service manager) is
 * used as it is and never replaced.
 *
 * A server this supervisor started and that exits on its own (crash, kill -9) has its process group
 * killed and is started again on the same port after a growing delay (1 s, 2 s, 4 s, ... at most 30 s;
 * back to 1 s after it ran a minute). Its process group is written to a pid file for as long as it runs,
 * so that a next life of the agent can reap it (`reapAppiumLeftovers`) if this one is killed -9.
 */
export class AppiumSupervisor {
  readonly url: string;
  private readonly server: AppiumServer;
  private readonly log: AppiumLog;
  private readonly firstDelayMs: number;
  private delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  /** A restart or a look at another process's server under way. */
  private busy: Promise<void> | null = null;
  /** Gives up a restart under way when the supervisor stops. */
  private readonly stopping = new AbortController();
  private stopped = false;
  private toldForeign = false;
  /** The owner mark, while this supervisor's server runs. */
  private mark: HostLock | null = null;
  /** The other process's server was a devlab agent's (held the owner mark) since it answers. */
  private foreignIsAgents = false;
  /** Said that the server started outside devlab does not answer (once per outage). */
  private toldGone = false;

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

  /** True while the server on the port is one this supervisor started (false: another process's). */
  get running(): boolean {
    return this.server.running;
  }

  private get fields() {
    return { component: 'appium', port: this.options.server.port };
  }

  private get watchIntervalMs(): number {
    return this.options.watchIntervalMs ?? 2000;
  }

  /**
   * Starts the server (throws if it does not get ready), or watches the one another process runs on the
   * port, to start one there once it is gone.
   */
  async start(): Promise<this> {
    try {
      await this.startLocked();
    } catch (err) {
      this.forget();
      throw err;
    }
    if (!this.server.running) await this.watchForeign();
    return this;
  }

  /** No restart any more (e.g. while the agent stops), the server kept running until `stop()`. */
  stopRestarting(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Ends the server this supervisor started and its process group (bounded, see `AppiumServer.stop`), and
   * no restart after it; another process's server is left running. Under the port's host lock: another
   * agent that watches the server starts its own only once this one is gone.
   */
  async stop(): Promise<void> {
    this.stopRestarting();
    // A restart under way gives up (its server, if spawned, is stopped by it) before this one stops.
    this.stopping.abort(new Error('the Appium supervisor stops'));
    await this.busy;
    if (this.server.running) {
      let lock: HostLock | null = null;
      try {
        lock = await acquireHostLock(portLock(this.options.server.port), { timeoutMs: 5000 });
      } catch (err) {
        this.log.warn(
          { ...this.fields, err: (err as Error).message },
          `stopping Appium on ${this.url} without its host lock: ${(err as Error).message}`,
        );
      }
      try {
        await this.server.stop();
        await this.unmark();
      } finally {
        await lock?.release();
      }
    }
    this.forget();
  }

  /** `server.start()` under the port's host lock: the server answers, this one's or another process's. */
  private async startLocked(signal?: AbortSignal): Promise<void> {
    const lock = await acquireHostLock(portLock(this.options.server.port), {
      // Another agent may be starting a server there meanwhile.
      timeoutMs: (this.options.server.startTimeoutMs ?? 60_000) + 10_000,
      ...(signal ? { signal } : {}),
    });
    try {
      await this.server.start(signal);
      if (this.server.running) await this.markOwner();
    } finally {
      await lock.release();
    }
  }

  /** Takes the owner mark (a watcher's look at it holds it for an instant: waited for, briefly). */
  private async markOwner(): Promise<void> {
    if (this.mark) return;
    try {
      this.mark = await acquireHostLock(ownerMark(this.options.server.port), { timeoutMs: 1000, pollMs: 20 });
    } catch (err) {
      this.log.warn(
        { ...this.fields, err: (err as Error).message },
        `cannot mark the Appium on ${this.url} as this agent's: other agents will not start it again if it goes (${(err as Error).message})`,
      );
    }
  }

  private async unmark(): Promise<void> {
    const mark = this.mark;
    this.mark = null;
    await mark?.release();
  }

  private record(pid: number): void {
    const file = this.options.pidFile;
    try {
      writePidRecord(file, pid, this.options.server.port);
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
    void this.unmark();
    if (this.stopped) return;
    if (exit.uptimeMs >= (this.options.stableAfterMs ?? 60_000)) this.delayMs = this.firstDelayMs;
    const delay = this.nextDelay();
    this.log.warn(
      { ...this.fields, pid: exit.pid, code: exit.code, signal: exit.signal, restartInMs: delay },
      `Appium exited (${describeExit(exit)}), restarting in ${delay / 1000} s`,
    );
    this.schedule(delay, () => this.restart());
  }

  private schedule(delay: number, task: () => Promise<void>): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.busy = task().finally(() => {
        this.busy = null;
      });
    }, delay);
  }

  /**
   * Another process's server answers on the port: not ours to stop. Watched: started here once it is gone
   * if it was a devlab agent's.
   */
  private async watchForeign(): Promise<void> {
    this.foreignIsAgents = await hostLockHeld(ownerMark(this.options.server.port));
    if (!this.toldForeign)
      this.log.info(
        { ...this.fields, watchIntervalMs: this.watchIntervalMs, agents: this.foreignIsAgents },
        this.foreignIsAgents
          ? `Appium on ${this.url} runs in another devlab agent of this host: watched, and started here if it stops answering`
          : `Appium on ${this.url} was started outside devlab: used as it is, never replaced`,
      );
    this.toldForeign = true;
    this.schedule(this.watchIntervalMs, () => this.watch());
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    if (await appiumStatus(this.url)) {
      this.toldGone = false;
      // Once seen marked, an agent's server stays so while it answers: its agent may have been killed -9
      // (the kernel freed the mark), and the server it left keeps serving this agent's devices meanwhile.
      if (!this.foreignIsAgents)
        this.foreignIsAgents = await hostLockHeld(ownerMark(this.options.server.port));
      this.schedule(this.watchIntervalMs, () => this.watch());
      return;
    }
    if (this.stopped) return;
    if (!this.foreignIsAgents) {
      // Not devlab's to replace (its own manager may be restarting it); its devices' health says it is gone.
      if (!this.toldGone)
        this.log.warn(
          this.fields,
          `the Appium server on ${this.url}, started outside devlab, does not answer; not starting one there`,
        );
      this.toldGone = true;
      this.schedule(this.watchIntervalMs, () => this.watch());
      return;
    }
    this.log.warn(
      this.fields,
      `the Appium server on ${this.url} that another devlab agent ran does not answer any more; starting one here`,
    );
    await this.restart();
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.startLocked(this.stopping.signal);
    } catch (err) {
      this.forget();
      if (this.stopped) return;
      const delay = this.nextDelay();
      this.log.error(
        { ...this.fields, err: (err as Error).message, restartInMs: delay },
        `Appium restart on ${this.url} failed: ${(err as Error).message}; trying again in ${delay / 1000} s`,
      );
      this.schedule(delay, () => this.restart());
      return;
    }
    if (!this.server.running) {
      // Another agent of this host started one there first (or someone by hand).
      await this.watchForeign();
      return;
    }
    this.toldForeign = false;
    if (this.stopped) {
      await this.server.stop();
      await this.unmark();
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
