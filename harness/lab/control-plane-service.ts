import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { loadInventory } from '../../devices/inventory/load.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { buildApi } from '../api/app.ts';
import { liveDevicesProvider } from '../api/live-devices.ts';
import { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { DevlabConfig } from '../config/config.ts';
import type { DurationEstimator } from '../planner/ranker.ts';
import { redisConnection } from '../queue/connection.ts';
import { labKeys } from '../queue/names.ts';
import { ControlPlane } from '../server/control-plane.ts';
import { migrateCatalog } from '../store/catalog-repo.ts';
import { storePath } from '../store/database.ts';
import { Store } from '../store/store.ts';
import { analysisRanker } from './analysis-ranker.ts';
import { LabCatalog } from './lab-catalog.ts';
import { LabDevices } from './lab-devices.ts';
import { ModelTrainer } from './model-trainer.ts';
import { predictionReport } from './prediction-report.ts';

export interface ControlPlaneServiceOptions {
  suites?: string[];
  inventoryFile?: string;
  port?: number;
  agentToken?: string;
  partnerCaps?: Record<string, number>;
  /** Bearer tokens on /api; default from the config (`api.auth`). */
  auth?: boolean;
  log?: (line: string) => void;
}

export interface ControlPlaneService {
  url: string;
  store: Store;
  controlPlane: ControlPlane;
  catalog: LabCatalog;
  devices: LabDevices;
  trainer: ModelTrainer;
  api: FastifyInstance;
  redis: Redis;
  close(): Promise<void>;
}

function storeDurations(store: Store): DurationEstimator {
  const means = store.history.meanDurations();
  return {
    estimateMs: (testId, pool, fallback) => Math.round(means.get(`${testId}\u0000${pool}`) ?? fallback),
  };
}

/** `devlab server`: the store, the catalog, the inventory, the control plane and its HTTP API. */
export async function startControlPlaneService(
  config: DevlabConfig,
  options: ControlPlaneServiceOptions = {},
): Promise<ControlPlaneService> {
  const store = Store.open(storePath(config.home));
  migrateCatalog(store.db);
  const redis = redisConnection(config.redisUrl);
  const catalog = await LabCatalog.load(store, options.suites);
  const keys = labKeys(config.redisPrefix);
  const devices = new LabDevices(
    loadInventory(options.inventoryFile),
    new DeviceStateStore(redis, { prefix: keys.keyPrefix }),
  );
  const trainer = ModelTrainer.forHome(store, config.home, options.log);
  await trainer
    .loadActive()
    .catch((err: unknown) => options.log?.(`cannot load the active model: ${(err as Error).message}`));
  const controlPlane = new ControlPlane({
    store,
    redis,
    resolveTests: (query) => catalog.select(query),
    resolveDevices: (selector) => devices.select(selector),
    // Built per submit from the latest history: the model itself is trained off the request path.
    get ranker() {
      return analysisRanker(
        store.history.finishedJobs({ sinceMs: Date.now() - 90 * 24 * 3600_000 }),
        trainer.current(),
      );
    },
    get durations() {
      return storeDurations(store);
    },
    ...(options.partnerCaps ? { partnerCaps: options.partnerCaps } : {}),
    keys,
  });
  await controlPlane.start();
  // Every finished run is new history: retrain in the background, never on a request.
  controlPlane.events.subscribe((event) => {
    if (event.type === 'run.finished') trainer.schedule();
  });
  const artifacts = new ArtifactStore(config.home, store.artifacts);
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
    devices: liveDevicesProvider(redis, devices.inventory, { prefix: keys.keyPrefix }),
    report: predictionReport(store, trainer),
  });
  const url = await api.listen({ host: config.api.host, port: options.port ?? config.api.port });
  return {
    url,
    store,
    controlPlane,
    catalog,
    devices,
    trainer,
    api,
    redis,
    async close() {
      await api.close();
      await controlPlane.stop();
      await trainer.idle();
      redis.disconnect();
      store.close();
    },
  };
}
