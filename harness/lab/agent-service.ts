import Docker from 'dockerode';
import type { Logger } from 'pino';
import { AppiumDriver } from '../../devices/appium/appium-driver.ts';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import type { DeviceRecord } from '../../devices/device.ts';
import { DockerDriver } from '../../devices/docker/docker-driver.ts';
import { PROCESS_INSTANCE } from '../../devices/docker/labels.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { dockerSettingsSchema } from '../../devices/docker/settings.ts';
import { healthCheck } from '../../devices/health/checks.ts';
import { HealthMonitor } from '../../devices/health/health-monitor.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { redactText } from '../../devices/redact.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { loadCatalog } from '../../suites/catalog/catalog.ts';
import { startReferenceApp } from '../../suites/reference-app/server.ts';
import { Agent } from '../agent/agent.ts';
import { agentSinkOptions, HttpArtifactSink } from '../agent/artifact-sink.ts';
import type { DevlabConfig } from '../config/config.ts';
import { localAppiumUrl } from '../config/local-appium.ts';
import { redisConnection } from '../queue/connection.ts';
import { labKeys } from '../queue/names.ts';
import { AgentRelay } from '../webdriver/agent-relay.ts';
import { createLogger } from '../log/logger.ts';
import {
  appiumServerUrl,
  reapAppiumOfPreviousLife,
  sameServer,
  superviseAppiumServers,
} from './agent-appium.ts';

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
  /** The agent's pino logger for what has fields (Appium supervision); default: one on stderr. */
  logger?: Logger;
}

export interface AgentService {
  agent: Agent;
  owned: DeviceRecord[];
  appUrl: string;
  close(): Promise<void>;
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
  // An Appium device that names no server is driven through this host's local one (DEVLAB_APPIUM_PORT).
  const inventory = loadInventory(options.inventoryFile, { localAppiumUrl: localAppiumUrl(config) });
  const owned = inventory.filter((d) => d.host === options.agentId);
  if (owned.length === 0)
    log(`agent ${options.agentId} owns no device in the inventory; it will take no jobs`);
  const redis = redisConnection(config.redisUrl);
  // Every engine its container devices run on (a device may name its own socket), and the configured one
  // (the engine of the devices that name none).
  const dockerDevices = owned.filter((d) => d.driver === 'docker');
  const sockets = new Set(dockerDevices.length ? [config.dockerSocket] : []);
  for (const d of dockerDevices) {
    const settings = dockerSettingsSchema.safeParse(d.settings);
    if (settings.success && settings.data.socket) sockets.add(settings.data.socket);
  }
  for (const socket of sockets) {
    try {
      // Only this lab's containers (by its Redis prefix): another lab's agent of this host name keeps its own.
      const reaped = await reapContainers(
        new Docker({ socketPath: socket }),
        options.agentId,
        PROCESS_INSTANCE,
        config.redisPrefix,
      );
      if (reaped.removed.length)
        log(`reaped ${reaped.removed.length} container(s) left by a previous life on ${socket}`);
      for (const failed of reaped.failed)
        log(`cannot remove container ${failed.id} left by a previous life on ${socket}: ${failed.error}`);
    } catch (err) {
      // An engine that is down now: its devices go to quarantine through their health checks.
      log(`cannot look for leftover containers on ${socket}: ${(err as Error).message}`);
    }
  }
  const logger = (options.logger ?? createLogger(`agent ${options.agentId}`, config.logLevel)).child({
    agent: options.agentId,
  });
  // The Appium servers (and their chromedrivers and Chromium) a killed previous life left running, then
  // the ones the devices need, supervised.
  await reapAppiumOfPreviousLife(config, options.agentId, logger);
  let monitor: HealthMonitor | null = null;
  const recheck = (url: string) => {
    // The server answers again: its devices' health is looked at now, so that a device quarantined
    // while it was down returns to service without waiting for the next round.
    for (const device of owned.filter((d) => d.driver === 'appium' && sameServer(appiumServerUrl(d), url)))
      monitor?.checkOnce(device).catch((err: unknown) =>
        logger.error(
          {
            component: 'health',
            device: device.id,
            err: redactText((err as Error).message ?? String(err)),
          },
          `health check of ${device.id} after the Appium restart failed`,
        ),
      );
  };
  const appiumServers = await superviseAppiumServers(config, options.agentId, owned, {
    log: logger,
    onRestarted: recheck,
    lineLog: log,
  });
  const stopAppium = () => Promise.all(appiumServers.map((s) => s.stop()));
  let app: Awaited<ReturnType<typeof startReferenceApp>> | null = null;
  let catalog: Awaited<ReturnType<typeof loadCatalog>>;
  try {
    app = options.appUrl ? null : await startReferenceApp();
    catalog = await loadCatalog(options.suites);
  } catch (err) {
    // An agent that does not start leaves no Appium server running.
    await stopAppium();
    await app?.close();
    redis.disconnect();
    throw err;
  }
  const appUrl = options.appUrl ?? app!.url;
  const keys = labKeys(config.redisPrefix);
  const states = new DeviceStateStore(redis, { prefix: keys.keyPrefix });
  // Container devices that name no socket are checked on the configured engine.
  const docker = new DockerDriver({ socket: config.dockerSocket, lab: config.redisPrefix });
  monitor = new HealthMonitor(redis, states, healthCheck({ appiumStatusOnly: true, docker }), {
    onOutcome: (o) =>
      o.transition &&
      log(`${o.result.deviceId}: ${o.transition.from} → ${o.transition.to} (${o.transition.reason})`),
    onError: (err) => log(`health round failed: ${redactText((err as Error).message ?? String(err))}`),
  });
  const health = monitor;
  // The Appium driver logs through the agent's logger (a stale reused session replaced before a test).
  const registry = createDriverRegistry({
    instance: `${options.agentId}-${process.pid}`,
    socket: config.dockerSocket,
    lab: config.redisPrefix,
  }).register(new AppiumDriver({ log: logger }));
  const agent = new Agent({
    agentId: options.agentId,
    inventory,
    tests: new Map(catalog.entries.map((e) => [e.id, e.definition])),
    // Checked against the hash each job was planned with: another checkout's body is never run.
    testHashes: new Map(catalog.entries.map((e) => [e.id, e.hash])),
    registry,
    // Spooled under <home>/spool/<agent> and uploaded in the background until the control plane has them.
    artifacts: new HttpArtifactSink(
      options.serverUrl,
      options.agentToken,
      agentSinkOptions(config, options.agentId),
    ),
    appUrl,
    connection: redis,
    keys,
    leaseTtlMs: config.agent.leaseTtlMs,
    lockDurationMs: config.agent.lockDurationMs,
    ...(config.agent.maxSessions > 0 ? { maxSessions: config.agent.maxSessions } : {}),
    onInfraError: (device) =>
      void health
        .checkOnce(device)
        .catch((err: unknown) =>
          log(`health check of ${device.id} failed: ${redactText((err as Error).message ?? String(err))}`),
        ),
    log,
    logger,
  });
  // The control plane's /wd/hub sessions on this agent's Appium devices are driven through it.
  const relay = new AgentRelay({ agentId: options.agentId, devices: owned, redis, keys, logger });
  try {
    await agent.start();
    await relay.start();
  } catch (err) {
    await relay.stop();
    await agent
      .stop()
      .catch((stopErr: unknown) =>
        logger.error({ err: (stopErr as Error).message }, 'stopping the agent that did not start failed'),
      );
    await stopAppium();
    await app?.close();
    redis.disconnect();
    throw err;
  }
  health.start(owned, options.healthIntervalMs ?? config.agent.healthIntervalMs);
  return {
    agent,
    owned,
    appUrl,
    async close() {
      // No Appium restart while the agent stops: its sessions end first, then the servers (bounded).
      for (const server of appiumServers) server.stopRestarting();
      await health.stop();
      await relay.stop();
      await agent.stop();
      await registry.dispose();
      await app?.close();
      await stopAppium();
      redis.disconnect();
    },
  };
}
