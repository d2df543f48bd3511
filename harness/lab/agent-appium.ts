import { readdirSync } from 'node:fs';
import path from 'node:path';
import { reapAppiumLeftovers } from '../../devices/appium/appium-pid-file.ts';
import { AppiumServer, appiumStatus } from '../../devices/appium/appium-server.ts';
import { AppiumSupervisor } from '../../devices/appium/appium-supervisor.ts';
import type { AppiumLog } from '../../devices/appium/log.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { redactUrl } from '../../devices/redact.ts';
import type { DevlabConfig } from '../config/config.ts';

/** The Appium server URL a device names (after the inventory filled in the local one). */
export const appiumServerUrl = (device: DeviceRecord): string =>
  String((device.settings as { server?: string }).server ?? '');

/** Same scheme, host and port (a device's URL may add a path or credentials). */
export function sameServer(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    const host = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);
    return x.protocol === y.protocol && host(x.hostname) === host(y.hostname) && x.port === y.port;
  } catch {
    return false;
  }
}

/**
 * The local Appium servers the devices point at, one per port: loopback URLs only. A hub URL with
 * credentials is someone else's (a tunnel or an authenticating proxy): devlab never starts one there,
 * and says so when it does not answer.
 */
async function localAppiumServers(
  devices: readonly DeviceRecord[],
  log: (line: string) => void,
): Promise<URL[]> {
  const urls = new Set(devices.filter((d) => d.driver === 'appium').map(appiumServerUrl));
  const byPort = new Map<string, URL>();
  for (const url of urls) {
    const parsed = new URL(url);
    if (!['127.0.0.1', 'localhost'].includes(parsed.hostname)) continue;
    if (parsed.username || parsed.password) {
      if (!(await appiumStatus(url)))
        log(`Appium hub ${redactUrl(url)} does not answer; not starting one there (its URL has credentials)`);
      continue;
    }
    if (!byPort.has(parsed.port)) byPort.set(parsed.port, parsed);
  }
  return [...byPort.values()];
}

const appiumServerOptions = (config: DevlabConfig, url: URL) => ({
  host: '127.0.0.1',
  port: Number(url.port),
  appiumHome: config.appium.home,
  logFile: `${config.home}/logs/appium-${url.port}.log`,
});

/**
 * Local Appium servers these devices point at: started when not already running (unsupervised: the demo
 * starts them once for its agents and stops them at its end).
 */
export async function ensureAppiumServers(
  config: DevlabConfig,
  devices: readonly DeviceRecord[],
  log: (line: string) => void = () => {},
): Promise<AppiumServer[]> {
  const started: AppiumServer[] = [];
  for (const url of await localAppiumServers(devices, log)) {
    if (await appiumStatus(url.href)) continue;
    started.push(await new AppiumServer(appiumServerOptions(config, url)).start());
  }
  return started;
}

/** The folder where an agent records the Appium servers it runs, one pid file per port. */
export function agentAppiumDir(config: DevlabConfig, agentId: string): string {
  return path.join(config.home, 'agents', agentId.replace(/[^A-Za-z0-9._-]/g, '_'), 'appium');
}

/**
 * Kills what the Appium servers an earlier life of this agent started left running (it was killed -9 and
 * could not stop them): each pid file's process group, if it still is that server's.
 */
export async function reapAppiumOfPreviousLife(
  config: DevlabConfig,
  agentId: string,
  log: AppiumLog,
): Promise<number> {
  const dir = agentAppiumDir(config, agentId);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.pid'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    log.error(
      { component: 'appium', dir, err: (err as Error).message },
      `cannot look for Appium servers left by a previous life in ${dir}`,
    );
    return 0;
  }
  let killed = 0;
  for (const file of files)
    killed += (await reapAppiumLeftovers(path.join(dir, file), log))?.killed.length ?? 0;
  return killed;
}

/**
 * Every local Appium server this agent's devices need, kept answering (see `AppiumSupervisor`): started
 * when none runs, restarted when it dies, its process group recorded for the next life; one another agent
 * of this host runs is watched and started here once it is gone, so that stopping that agent does not take
 * this one's devices down with it.
 */
export async function superviseAppiumServers(
  config: DevlabConfig,
  agentId: string,
  devices: readonly DeviceRecord[],
  options: {
    log: AppiumLog;
    onRestarted?(url: string): void;
    lineLog?: (line: string) => void;
    /** How often another process's server is asked whether it still answers (default 2 s). */
    watchIntervalMs?: number;
  },
): Promise<AppiumSupervisor[]> {
  const started: AppiumSupervisor[] = [];
  try {
    for (const url of await localAppiumServers(devices, options.lineLog ?? (() => {}))) {
      const supervisor = new AppiumSupervisor({
        server: appiumServerOptions(config, url),
        pidFile: path.join(agentAppiumDir(config, agentId), `appium-${url.port}.pid`),
        log: options.log,
        ...(options.watchIntervalMs ? { watchIntervalMs: options.watchIntervalMs } : {}),
        onRestarted: (server) => options.onRestarted?.(server.url),
      });
      started.push(supervisor);
      await supervisor.start();
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
  return started;
}
