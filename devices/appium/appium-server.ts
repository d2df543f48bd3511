import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { redactText } from '../redact.ts';
import { hubCommandUrl, hubEndpoint, hubHeaders } from './hub-url.ts';

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

/**
 * An Appium server that devlab started itself (or found already running on the port).
 * `stop()` ends only a server this object started.
 */
export class AppiumServer {
  readonly url: string;
  private child: ChildProcess | null = null;

  constructor(private readonly options: AppiumServerOptions) {
    this.url = `http://${options.host}:${options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<this> {
    if (await appiumStatus(this.url)) return this;
    const { appiumHome, host, port, logFile } = this.options;
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
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, APPIUM_HOME: appiumHome },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that what the server started (chromedriver, Chromium) can go with it.
      detached: true,
    });
    const group = this.child.pid;
    // A server that crashed or was killed -9 leaves its chromedrivers and their Chromium running, orphaned:
    // whatever is left of its group is killed when it exits, however it exits.
    this.child.once('exit', () => {
      try {
        if (group) process.kill(-group, 'SIGKILL');
      } catch {
        // nothing left
      }
    });
    if (logFile) {
      mkdirSync(path.dirname(logFile), { recursive: true });
      const log = createWriteStream(logFile, { flags: 'a' });
      this.child.stdout?.pipe(log);
      this.child.stderr?.pipe(log);
    } else {
      this.child.stdout?.resume();
      this.child.stderr?.resume();
    }
    const exited = new Promise<never>((_, reject) =>
      this.child?.once('exit', (code) =>
        reject(
          new Error(
            `Appium server exited with code ${code} before it was ready${logFile ? ` (log: ${logFile})` : ''}`,
          ),
        ),
      ),
    );
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 60_000);
    const ready = (async () => {
      while (Date.now() < deadline) {
        if ((await appiumStatus(this.url, 1000))?.ready) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(
        `Appium server on ${this.url} was not ready after ${this.options.startTimeoutMs ?? 60_000} ms`,
      );
    })();
    try {
      await Promise.race([ready, exited]);
    } catch (err) {
      await this.stop();
      throw err;
    }
    exited.catch(() => {});
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
