import Docker from 'dockerode';
import { AppiumServer, appiumStatus } from '../../devices/appium/appium-server.ts';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { dockerSettingsSchema } from '../../devices/docker/settings.ts';
import { healthCheck } from '../../devices/health/checks.ts';
import { HealthMonitor } from '../../devices/health/health-monitor.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { redactText, redactUrl } from '../../devices/redact.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { startReferenceApp } from '../../suites/reference-app/server.ts';
import { Agent } from '../agent/agent.ts';
import { HttpArtifactSink } from '../agent/artifact-sink.ts';
import type { DevlabConfig } from '../config/config.ts';
import { redisConnection } from '../queue/connection.ts';
import { labKeys } from '../queue/names.ts';

export interface AgentServiceOptions {
  agentId: string;
  serverUrl: string;
  inventoryFile?: string;
  suites?: string[];
  /** The app under test; without it the agent serves the reference app on loopback. */
  appUrl?: string;
  agentToken?: string;
  healthIntervalMs?: number;
  log?: (line: string) => void;
}

export interface AgentService {
  agent: Agent;
  owned: DeviceRecord[];
  appUrl: string;
  close(): Promise<void>;
}

/**
 * Local Appium servers this agent's devices point at: started when not already running. A hub URL with
 * credentials is someone else's (a tunnel or an authenticating proxy): devlab never starts one there.
 */
export async function ensureAppiumServers(
  config: DevlabConfig,
  devices: readonly DeviceRecord[],
  log: (line: string) => void = () => {},
): Promise<AppiumServer[]> {
  const started: AppiumServer[] = [];
  const urls = new Set(
    devices
      .filter((d) => d.driver === 'appium')
      .map((d) => String((d.settings as { server?: string }).server ?? '')),
  );
  for (const url of urls) {
    const parsed = new URL(url);
    if (!['127.0.0.1', 'localhost'].includes(parsed.hostname) || (await appiumStatus(url))) continue;
    if (parsed.username || parsed.password) {
      log(`Appium hub ${redactUrl(url)} does not answer; not starting one there (its URL has credentials)`);
      continue;
    }
    const server = new AppiumServer({
      host: '127.0.0.1',
      port: Number(parsed.port),
      appiumHome: config.appium.home,
      logFile: `${config.home}/logs/appium-${parsed.port}.log`,
    });
    started.push(await server.start());
  }
  return started;
}

/**
 * `devlab agent`: reaps containers of its previous life, starts what its devices need (Appium, the
 * reference app), watches their health and takes jobs for them.
 */
export async function startAgentService(
  config: DevlabConfig,
  options: AgentServiceOptions,
): Promise<AgentService> {
  const log = options.log ?? (() => {});
  const inventory = loadInventory(options.inventoryFile);
  const owned = inventory.filter((d) => d.host === options.agentId);
  if (owned.length === 0)
    log(`agent ${options.agentId} owns no device in the inventory; it will take no jobs`);
  const redis = redisConnection(config.redisUrl);
  // Every engine its container devices run on (a device may name its own socket), and the configured one.
  const dockerDevices = owned.filter((d) => d.driver === 'docker');
  const sockets = new Set(dockerDevices.length ? [config.dockerSocket] : []);
  for (const d of dockerDevices) {
    const settings = dockerSettingsSchema.safeParse(d.settings);
    if (settings.success) sockets.add(settings.data.socket);
  }
  for (const socket of sockets) {
    try {
      const reaped = await reapContainers(new Docker({ socketPath: socket }), options.agentId);
      if (reaped.removed.length)
        log(`reaped ${reaped.removed.length} container(s) left by a previous life on ${socket}`);
    } catch (err) {
      // An engine that is down now: its devices go to quarantine through their health checks.
      log(`cannot look for leftover containers on ${socket}: ${(err as Error).message}`);
    }
  }
  const appiumServers = await ensureAppiumServers(config, owned, log);
  const app = options.appUrl ? null : await startReferenceApp();
  const appUrl = options.appUrl ?? app!.url;
  const catalog = await loadCatalog(options.suites);
  const keys = labKeys(config.redisPrefix);
  const states = new DeviceStateStore(redis, { prefix: keys.keyPrefix });
  const monitor = new HealthMonitor(redis, states, healthCheck({ appiumStatusOnly: true }), {
    onOutcome: (o) =>
      o.transition &&
      log(`${o.result.deviceId}: ${o.transition.from} → ${o.transition.to} (${o.transition.reason})`),
    onError: (err) => log(`health round failed: ${redactText((err as Error).message ?? String(err))}`),
  });
  const registry = createDriverRegistry({ instance: `${options.agentId}-${process.pid}` });
  const agent = new Agent({
    agentId: options.agentId,
    inventory,
    tests: new Map(catalog.entries.map((e) => [e.id, e.definition])),
    registry,
    artifacts: new HttpArtifactSink(options.serverUrl, options.agentToken),
    appUrl,
    connection: redis,
    keys,
    leaseTtlMs: config.agent.leaseTtlMs,
    lockDurationMs: config.agent.lockDurationMs,
    ...(config.agent.maxSessions > 0 ? { maxSessions: config.agent.maxSessions } : {}),
    onInfraError: (device) =>
      void monitor
        .checkOnce(device)
        .catch((err: unknown) =>
          log(`health check of ${device.id} failed: ${redactText((err as Error).message ?? String(err))}`),
        ),
    log,
  });
  await agent.start();
  monitor.start(owned, options.healthIntervalMs ?? config.agent.healthIntervalMs);
  return {
    agent,
    owned,
    appUrl,
    async close() {
      await monitor.stop();
      await agent.stop();
      await registry.dispose();
      await app?.close();
      for (const server of appiumServers) await server.stop();
      redis.disconnect();
    },
  };
}
