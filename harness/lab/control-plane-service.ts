import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { modelTrusted } from '../../analysis/ranking/rank.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { buildApi } from '../api/app.ts';
import { liveDevicesProvider } from '../api/live-devices.ts';
import { ArtifactStore } from '../artifacts/artifact-store.ts';
import { createLogger } from '../log/logger.ts';
import type { DevlabConfig } from '../config/config.ts';
import { localAppiumUrl } from '../config/local-appium.ts';
import { historyRanker } from '../history/history-ranker.ts';
import { HookService } from '../hooks/hook-service.ts';
import { snapshotPath } from '../history/history-snapshot.ts';
import { LabHistory } from '../history/lab-history.ts';
import { ModelTrainer } from '../history/model-trainer.ts';
import { redisConnection } from '../queue/connection.ts';
import { labKeys } from '../queue/names.ts';
import { poolMapOf, publishPoolMap } from '../queue/pool-map.ts';
import { ControlPlane } from '../server/control-plane.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { closeLeftoverSessions } from '../webdriver/session-store.ts';
import { WebDriverService } from '../webdriver/webdriver-service.ts';
import { RelayClient } from '../webdriver/relay-channel.ts';
import { SessionHealth } from '../webdriver/session-health.ts';
import { SessionDrops } from '../../devices/health/session-drops.ts';
import { ReservationService } from '../webdriver/reservation-service.ts';
import { migrateCatalog } from '../store/catalog-repo.ts';
import { Checkpointer } from '../store/checkpointer.ts';
import { storePath } from '../store/database.ts';
import { Store } from '../store/store.ts';
import { describeProblem } from '../../suites/catalog/load-problems.ts';
import { LabCatalog } from './lab-catalog.ts';
import { LabDevices } from '../inventory/lab-devices.ts';
import { predictionReport, type ReportProvider } from '../history/prediction-report.ts';

export interface ControlPlaneServiceOptions {
  suites?: string[];
  /**
   * Start without the tests of suite files that do not load (each named in the log); by default such a
   * file fails the start with a SuiteLoadError giving file:line:column.
   */
  allowBroken?: boolean;
  inventoryFile?: string;
  port?: number;
  agentToken?: string;
  partnerCaps?: Record<string, number>;
  /** Bearer tokens on /api; default from the config (`api.auth`). */
  auth?: boolean;
  log?: (line: string) => void;
  /**
   * The process's structured log (`devlab server`'s): the HTTP API logs its requests to it (5xx with
   * their cause, each line with its request id). Without it the API logs nothing.
   */
  logger?: Logger;
}

export interface ControlPlaneService {
  url: string;
  store: Store;
  controlPlane: ControlPlane;
  catalog: LabCatalog;
  devices: LabDevices;
  history: LabHistory;
  trainer: ModelTrainer;
  /** The failure-prediction report of the lab's history (built in a helper process, once per history and model). */
  report: ReportProvider;
  /** Signed outbound webhooks (`/api/hooks`). */
  hooks: HookService;
  /** The WebDriver endpoint (`/wd/hub`): clients' own Appium sessions on lab devices. */
  webdriver: WebDriverService;
  /** Devices reserved for a person (`devlab devices reserve`), each with its WebDriver URL. */
  reservations: ReservationService;
  api: FastifyInstance;
  redis: Redis;
  close(): Promise<void>;
}

/** `devlab server`: the store, the catalog, the inventory, the control plane and its HTTP API. */
export async function startControlPlaneService(
  config: DevlabConfig,
  options: ControlPlaneServiceOptions = {},
): Promise<ControlPlaneService> {
  // The suites and the inventory first: a file that does not load stops the start before anything is opened.
  const catalog = await LabCatalog.discover(options.suites, {
    ...(options.allowBroken ? { allowBroken: true } : {}),
    warn: (line, problem) =>
      options.logger ? options.logger.warn({ file: problem.file }, line) : options.log?.(line),
  });
  const inventory = loadInventory(options.inventoryFile, { localAppiumUrl: localAppiumUrl(config) });
  const store = Store.open(storePath(config.home));
  migrateCatalog(store.db);
  catalog.sync(store);
  const checkpointer = Checkpointer.start(store.db, options.log ? { log: options.log } : {});
  const redis = redisConnection(config.redisUrl);
  const keys = labKeys(config.redisPrefix);
  const deviceStates = new DeviceStateStore(redis, { prefix: keys.keyPrefix });
  const devices = new LabDevices(inventory, deviceStates);
  // The history is replayed once here, then kept up to date from the control plane's events.
  const history = new LabHistory(store, config.history, {
    snapshotFile: snapshotPath(config.home),
    components: config.components,
    ...(options.log ? { log: options.log } : {}),
  });
  const loaded = history.load();
  options.log?.(
    loaded.source === 'snapshot'
      ? `history: snapshot, plus ${loaded.rows} jobs and ${loaded.runs} runs finished since, in ${loaded.ms} ms`
      : `history: ${loaded.rows} finished jobs of ${loaded.runs} runs replayed in ${loaded.ms} ms (${loaded.note})`,
  );
  const trainer = ModelTrainer.forHome(config.home, {
    storeFile: storePath(config.home),
    bounds: () => history.bounds(),
    ...(options.log ? { log: options.log } : {}),
  });
  await trainer
    .loadActive()
    .catch((err: unknown) => options.log?.(`cannot load the active model: ${(err as Error).message}`));
  const controlPlane = new ControlPlane({
    store,
    redis,
    // The history fields read the plan's partner's own results (or the whole lab's for an admin's view).
    resolveTests: (query, historyPartner) => catalog.select(query, history.queryHistory(historyPartner)),
    resolveDevices: (selector) => devices.select(selector),
    suggestTestQuery: (query) => catalog.suggest(query),
    unmatchedSelector: (selector) => devices.unmatched(selector),
    // Read once per plan: the incremental history state and the model version active at that moment,
    // which a swap does not free before the ranking is done.
    get ranker() {
      const lease = trainer.acquire();
      return historyRanker(history, lease.active, { onDone: lease.release, components: config.components });
    },
    durations: history.durations,
    ...(options.partnerCaps ? { partnerCaps: options.partnerCaps } : {}),
    keys,
    // Attempts carry their test's content hash: an agent on another checkout refuses a different body.
    testHash: (testId) => catalog.catalog.get(testId)?.hash,
    ...(options.log ? { log: options.log } : {}),
  });
  history.follow(controlPlane.events);
  // GET /metrics: the inventory's states and the model the plans rank with, read on each scrape.
  const deviceIds = devices.inventory.map((d) => d.id);
  controlPlane.metrics.watchDevices(() => deviceStates.states(deviceIds));
  controlPlane.metrics.watchModel(() => {
    const active = trainer.current();
    return {
      version: active?.version ?? null,
      trusted: modelTrusted(active?.model ?? null),
      lastTrainingFailed: trainer.lastError !== null,
    };
  });
  // The links in a delivery: the configured public URL, else the API's own address once it listens.
  let publicUrl = config.hooks.publicUrl || `http://${config.api.host}:${options.port || config.api.port}`;
  const hooks = new HookService({
    store,
    redis,
    keys,
    settings: config.hooks,
    logger: createLogger('hooks', config.logLevel),
    baseUrl: () => publicUrl,
    selectTests: (query, historyPartner) => catalog.select(query, history.queryHistory(historyPartner)),
  });
  // Before the start: its recovery may finish runs, and those are delivered too.
  hooks.follow(controlPlane.events);
  const webdriverLog = options.logger ?? createLogger('webdriver', config.logLevel);
  // Before the start: its recovery would queue a WebDriver session's open job as a catalog test.
  closeLeftoverSessions(store, webdriverLog);
  await controlPlane.start();
  // Agents compare the pools of their own inventory copy with this map (the inventory is read once, at
  // start: a changed inventory is published by the next start) and refuse a pool whose queue differs.
  await publishPoolMap(redis, keys, poolMapOf(devices.inventory));
  await hooks.start();
  // Every finished run is new history: retrain in a helper process, never on a request.
  controlPlane.events.subscribe((event) => {
    if (event.type === 'run.finished') trainer.schedule();
  });
  const artifacts = new ArtifactStore(config.home, store.artifacts, {
    logger: options.logger ?? createLogger('server', config.logLevel),
  });
  const report = predictionReport(storePath(config.home), history, trainer, options.log);
  // Sessions on a device whose agent relays go through that agent (its Appium is often on its loopback).
  const relay = await new RelayClient(redis, keys, webdriverLog).start();
  const webdriver = new WebDriverService({
    relay,
    health: new SessionHealth(new SessionDrops(redis, deviceStates), webdriverLog),
    store,
    devices,
    leases: new LeaseManager(redis, { prefix: keys.keyPrefix }),
    artifacts,
    events: controlPlane.events,
    settings: config.webdriver,
    leaseTtlMs: config.agent.leaseTtlMs,
    logger: webdriverLog,
  });
  webdriver.start();
  const reservations = new ReservationService({
    redis,
    keys,
    leases: new LeaseManager(redis, { prefix: keys.keyPrefix }),
    devices,
    webdriver,
    maxMs: config.webdriver.maxReservationMs,
    logger: webdriverLog,
  });
  // The reservations a previous life made go on (their leases and records are in Redis): their ends again.
  await reservations.start();
  const auth = options.auth ?? config.api.auth;
  if (auth && !options.agentToken) {
    throw new Error(
      'API auth is on but no agent token is set: set DEVLAB_AGENT_TOKEN (or --agent-token) so only agents upload artifacts',
    );
  }
  const api = buildApi({
    controlPlane,
    artifacts,
    ...(options.agentToken ? { agentToken: options.agentToken } : {}),
    auth: { enabled: auth },
    devices: liveDevicesProvider(redis, devices.inventory, {
      prefix: keys.keyPrefix,
      reservations: () => reservations.byDevice(),
    }),
    report,
    webdriver,
    reservations: { service: reservations, maxMs: config.webdriver.maxReservationMs },
    // Failure triage of a run's results, from the history service's incremental state (O(failed jobs)).
    triage: (run, jobs) => history.triageRun(run, jobs),
    suiteProblems: () => catalog.catalog.problems.map((p) => describeProblem(p)),
    hooks,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const url = await api.listen({ host: config.api.host, port: options.port ?? config.api.port });
  if (!config.hooks.publicUrl) publicUrl = url;
  return {
    url,
    store,
    controlPlane,
    catalog,
    devices,
    history,
    trainer,
    report,
    hooks,
    webdriver,
    reservations,
    api,
    redis,
    async close() {
      // First: a session waiting for a device would hold its request, and the API's close, for minutes.
      // Reservations go on in Redis (and end there by themselves): only their timers stop.
      reservations.close();
      await webdriver.close();
      await relay.close();
      await api.close();
      // Deliveries in flight end here; their retries wait in Redis for the next start.
      await hooks.close();
      await controlPlane.stop();
      await trainer.idle();
      // Everything finished is in it: the next start replays only what finishes after this moment.
      try {
        const bytes = history.saveSnapshot();
        options.log?.(`history snapshot written (${Math.round(bytes / 1024)} KiB)`);
      } catch (err) {
        options.log?.(
          `history snapshot not written (the next start replays the store): ${(err as Error).message}`,
        );
      }
      redis.disconnect();
      await checkpointer.stop();
      store.close();
    },
  };
}
