import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DeviceRecord } from '../../devices/device.ts';
import type { DriverRegistry } from '../../devices/driver.ts';
import type { TestDefinition, TestMeta } from '../../suites/test-api.ts';
import { Agent } from '../../harness/agent/agent.ts';
import { HttpArtifactSink } from '../../harness/agent/artifact-sink.ts';
import { buildApi } from '../../harness/api/app.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import type { DurationEstimator, Ranker } from '../../harness/planner/ranker.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { type LabKeys, labKeys } from '../../harness/queue/names.ts';
import { ControlPlane } from '../../harness/server/control-plane.ts';
import { isRunOver } from '../../harness/store/runs-repo.ts';
import { Store } from '../../harness/store/store.ts';
import { REDIS_URL } from './services.ts';
import { dropPrefix } from './redis-keys.ts';

let labCount = 0;

/** Ranks by a fixed table (pure test input), so the order a test expects is known. */
export function tableRanker(scores: Record<string, number>): Ranker {
  return {
    name: 'table',
    score: (pairs) => pairs.map((p) => ({ probability: scores[p.testId] ?? 0, reasons: [] })),
  };
}

export const fixedDurations: DurationEstimator = { estimateMs: (_t, _p, fallback) => fallback };

export interface LabHarness {
  home: string;
  store: Store;
  controlPlane: ControlPlane;
  api: FastifyInstance;
  apiUrl: string;
  agents: Agent[];
  redis: Redis;
  keys: LabKeys;
  startAgents(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A whole lab in one process on the real parts: SQLite file, Redis queues, the HTTP API on loopback,
 * and agents with real drivers. Each agent id owns the inventory devices whose host is that id.
 */
export async function startLabHarness(options: {
  inventory: DeviceRecord[];
  tests: TestDefinition[];
  registry: DriverRegistry;
  agentIds: string[];
  appUrl: string;
  ranker?: Ranker;
  partnerCaps?: Record<string, number>;
  maxSessions?: number;
  /** Start the agents later with `startAgents()` (to queue work first). */
  deferAgents?: boolean;
}): Promise<LabHarness> {
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-lab-'));
  const store = Store.open(path.join(home, 'devlab.db'));
  const redis = redisConnection(REDIS_URL);
  // Its own Redis prefix: labs of concurrent test runs never consume each other's reports.
  const keys = labKeys(`devlab-test-${process.pid}-${++labCount}`);
  const metas: TestMeta[] = options.tests.map(({ body: _body, ...meta }) => meta);
  const controlPlane = new ControlPlane({
    store,
    redis,
    resolveTests: (query) =>
      query ? metas.filter((t) => t.tags.includes(query.replace(/^tag:/, ''))) : metas,
    resolveDevices: () => options.inventory,
    ranker: options.ranker ?? tableRanker({}),
    durations: fixedDurations,
    ...(options.partnerCaps ? { partnerCaps: options.partnerCaps } : {}),
    keys,
  });
  await controlPlane.start();
  const artifacts = new ArtifactStore(home, store.artifacts);
  const api = buildApi({ controlPlane, artifacts, agentToken: 'agent-secret' });
  const apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
  const byId = new Map(options.tests.map((t) => [t.id, t]));
  const agents = options.agentIds.map(
    (agentId) =>
      new Agent({
        agentId,
        inventory: options.inventory,
        tests: byId,
        registry: options.registry,
        artifacts: new HttpArtifactSink(apiUrl, 'agent-secret'),
        appUrl: options.appUrl,
        connection: redis,
        keys,
        leaseTtlMs: 5000,
        ...(options.maxSessions ? { maxSessions: options.maxSessions } : {}),
        lockDurationMs: 10_000,
      }),
  );
  let started = false;
  const startAgents = async () => {
    if (started) return;
    started = true;
    for (const agent of agents) await agent.start();
  };
  if (!options.deferAgents) await startAgents();
  return {
    startAgents,
    home,
    store,
    controlPlane,
    api,
    apiUrl,
    agents,
    redis,
    keys,
    async close() {
      if (started) for (const agent of agents) await agent.stop();
      await controlPlane.stop();
      await api.close();
      // Its queues, stream and device keys go with it (a developer's Redis would collect them).
      await dropPrefix(redis, keys.queuePrefix).catch(() => {});
      redis.disconnect();
      store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Resolves when the run has a final status (polls the store; events are checked separately). */
export async function waitForRun(store: Store, runId: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const run = store.runs.get(runId);
    if (run && isRunOver(run.status)) return run.status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} did not finish within ${timeoutMs} ms`);
}
