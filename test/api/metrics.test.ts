import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { liveStatus } from '../../devices/state/live-status.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { defineTest } from '../../suites/define-test.ts';
import { buildApi } from '../../harness/api/app.ts';
import type { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { ControlPlane } from '../../harness/server/control-plane.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { containerBox, shellTest } from '../support/container-box.ts';
import {
  fixedDurations,
  type LabHarness,
  startLabHarness,
  tableRanker,
  waitForRun,
} from '../support/lab-harness.ts';
import { parsePrometheusText, type Sample, samplesOf, sampleValue } from '../support/prometheus-text.ts';
import { dropPrefix, removeTestLab } from '../support/redis-keys.ts';
import { dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';

// A Redis database of its own, as the other API tests (see ci-examples.test.ts). Hoisted above the imports
// because test/support/services.ts reads the URL when it loads.
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

// Model names of their own so these pools' queues never meet another test file's.
const INVENTORY = `
devices:
${containerBox({ id: 'metrics-box-1', name: 'Metrics container box', model: 'metrics-box', host: 'agent-metrics', memoryMb: 32 })}${containerBox({ id: 'metrics-spare-1', name: 'Metrics spare (no agent)', model: 'metrics-spare', host: 'nobody', memoryMb: 32 })}`;

const TESTS = [
  shellTest('metrics.shell'),
  defineTest(
    {
      id: 'metrics.fails',
      title: 'Always fails (one retry)',
      component: 'platform',
      owner: 'qa',
      retries: 1,
      requires: { drivers: ['docker'] },
    },
    async () => {
      throw new Error('expected failure');
    },
  ),
];

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

/** The store's attempts by outcome and error kind, counted here with SQL of the test's own. */
function storeAttempts(lab: LabHarness): Map<string, number> {
  const rows = lab.store.db
    .prepare('SELECT status, error_kind AS kind, COUNT(*) AS n FROM attempts GROUP BY status, error_kind')
    .all() as { status: string; kind: string | null; n: number }[];
  return new Map(rows.map((r) => [`${r.status}/${r.kind ?? 'none'}`, r.n]));
}

function metricAttempts(samples: Sample[]): Map<string, number> {
  return new Map(
    samplesOf(samples, 'devlab_attempts_total')
      .filter((s) => s.value > 0)
      .map((s) => [`${s.labels['outcome']}/${s.labels['error_kind']}`, s.value]),
  );
}

describe('GET /metrics on a real lab (Redis, SQLite file, Docker device)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness;
  const inventory = parseInventory(INVENTORY, 'metrics.yaml');
  const ids = inventory.map((d) => d.id);

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: inventory.filter((d) => d.host === 'agent-metrics'),
      tests: TESTS,
      registry: createDriverRegistry({}),
      agentIds: ['agent-metrics'],
      appUrl: 'http://127.0.0.1:9/',
      ranker: tableRanker({ 'metrics.fails': 0.9 }),
    });
    // What control-plane-service.ts wires for the inventory: the spare, never seen by an agent, is
    // `available`; block it so that two states show.
    const states = new DeviceStateStore(lab.redis, { prefix: lab.keys.keyPrefix });
    await states.transition('metrics-spare-1', 'blocked', 'metrics test', 'test');
    lab.controlPlane.metrics.watchDevices(() => states.states(ids));
  });
  afterAll(async () => {
    await lab?.close();
  });

  it.skipIf(!up)(
    'after a run: attempts by outcome equal the store, queues are empty, devices by state match Redis',
    async () => {
      const before = await scrape(lab.apiUrl);
      expect(metricAttempts(before).size).toBe(0);
      const res = await fetch(`${lab.apiUrl}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ partner: 'acme', priority: 'ci-pr', build: 'b-metrics' }),
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      expect(await waitForRun(lab.store, id, 90_000)).toBe('failed');

      // The agent reports before its BullMQ job completes: the active count drops a moment later.
      let samples: Sample[] = [];
      await expect
        .poll(
          async () => {
            samples = await scrape(lab.apiUrl);
            return samplesOf(samples, 'devlab_queue_jobs').reduce((sum, s) => sum + s.value, 0);
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBe(0);

      // Counted as the reports were stored (the store was empty when the control plane started).
      const stored = storeAttempts(lab);
      expect(stored).toEqual(
        new Map([
          ['passed/none', 1],
          ['failed/test', 2],
        ]),
      );
      expect(metricAttempts(samples)).toEqual(stored);

      // One queue per pool used, each with waiting, active and delayed at 0, and no waiting job's age.
      const pools = [...new Set(samplesOf(samples, 'devlab_queue_jobs').map((s) => s.labels['pool']))];
      expect(pools).toHaveLength(1);
      for (const state of ['waiting', 'active', 'delayed'])
        expect(sampleValue(samples, 'devlab_queue_jobs', { pool: pools[0]!, state })).toBe(0);
      expect(sampleValue(samples, 'devlab_queue_oldest_waiting_seconds', { pool: pools[0]! })).toBe(0);

      // Devices by state: what the state store says of each inventory device, every state listed.
      const live = await liveStatus(lab.redis, inventory, lab.keys.keyPrefix);
      const expected: Record<string, number> = {};
      for (const s of live) expected[s.state] = (expected[s.state] ?? 0) + 1;
      expect(expected['blocked']).toBe(1);
      const shown = samplesOf(samples, 'devlab_devices');
      expect(shown.length).toBeGreaterThan(Object.keys(expected).length);
      for (const s of shown)
        expect([s.labels['state'], s.value]).toEqual([s.labels['state'], expected[s.labels['state']!] ?? 0]);

      // Every report stored: nothing waits on the report stream, nothing was set aside.
      for (const state of ['waiting', 'pending', 'dead'])
        expect(sampleValue(samples, 'devlab_report_stream_reports', { state })).toBe(0);
      for (const source of ['queues', 'report_stream', 'devices'])
        expect(sampleValue(samples, 'devlab_metrics_source_up', { source })).toBe(1);
      // The process's own metrics, on this control plane's registry.
      expect(samplesOf(samples, 'process_cpu_user_seconds_total')).toHaveLength(1);
      expect(samplesOf(samples, 'nodejs_heap_size_used_bytes')).toHaveLength(1);

      // A control plane started on this store counts its attempts from it (one aggregate query).
      const restarted = new ControlPlane({
        store: lab.store,
        redis: lab.redis,
        resolveTests: () => [],
        resolveDevices: () => [],
        ranker: tableRanker({}),
        durations: fixedDurations,
        keys: labKeys(`${lab.keys.queuePrefix}-restarted`),
      });
      await restarted.start();
      try {
        expect(metricAttempts(parsePrometheusText(await restarted.metrics.scrape()))).toEqual(stored);
      } finally {
        await restarted.stop();
        await dropPrefix(lab.redis, `${lab.keys.queuePrefix}-restarted`);
      }

      // An artifact upload answered 5xx is counted (here a store that throws: a 500).
      const failing = {
        save: async () => {
          throw new Error('disk gone', { cause: new Error('EIO') });
        },
        recordLost: () => {
          throw new Error('disk gone');
        },
      } as unknown as ArtifactStore;
      const api = buildApi({
        controlPlane: lab.controlPlane,
        artifacts: failing,
        agentToken: 'agent-secret',
      });
      try {
        const job = lab.store.jobs.listByRun(id)[0]!;
        const upload = await api.inject({
          method: 'PUT',
          url: `/internal/artifacts/abcdef0123?run=${id}&job=${job.id}&attempt=1&name=x.txt`,
          headers: { authorization: 'Bearer agent-secret', 'content-type': 'application/octet-stream' },
          payload: Buffer.from('bytes'),
        });
        expect(upload.statusCode).toBe(500);
        const after = await scrape(lab.apiUrl);
        expect(sampleValue(after, 'devlab_artifact_upload_failures_total', { status: '500' })).toBe(1);
      } finally {
        await api.close();
      }
    },
  );
});

describe('GET /metrics on the control plane service (reference inventory, auth on)', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-metrics-'));
  const prefix = `devlab-metrics-${process.pid}`;
  let config: DevlabConfig;
  let server: ControlPlaneService;

  beforeAll(async () => {
    if (!up) return;
    config = loadConfig({
      env: { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: REDIS_URL, DEVLAB_REDIS_PREFIX: prefix },
    });
    server = await startControlPlaneService(config, { port: 0, auth: true, agentToken: 'agent-secret' });
  });
  afterAll(async () => {
    await server?.close();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'shows the inventory by state and the model; off this machine it needs an admin token',
    async () => {
      const samples = await scrape(server.url);
      const inventory = server.devices.inventory;
      const live = await liveStatus(server.redis, [...inventory], `${prefix}:`);
      const total = samplesOf(samples, 'devlab_devices').reduce((sum, s) => sum + s.value, 0);
      expect(total).toBe(inventory.length);
      for (const state of new Set(live.map((s) => s.state)))
        expect(sampleValue(samples, 'devlab_devices', { state })).toBe(
          live.filter((s) => s.state === state).length,
        );
      // A new lab: no model version yet, plans ranked by the failure record.
      expect(
        sampleValue(samples, 'devlab_model_info', { version: 'none', ranked_by: 'failure record' }),
      ).toBe(1);
      expect(sampleValue(samples, 'devlab_model_trusted')).toBe(0);
      expect(sampleValue(samples, 'devlab_model_last_training_failed')).toBe(0);

      // Off loopback: an admin token, not a partner's, and never none.
      const tokens = new TokensRepo(server.store.db);
      const admin = tokens.create('lab-ops', 'admin').token;
      const partner = tokens.create('acme').token;
      const from = (authorization?: string) =>
        server.api.inject({
          method: 'GET',
          url: '/metrics',
          remoteAddress: '10.1.2.3',
          ...(authorization ? { headers: { authorization } } : {}),
        });
      expect((await from()).statusCode).toBe(401);
      expect((await from('Bearer dlb_not-a-token')).statusCode).toBe(401);
      expect((await from(`Bearer ${partner}`)).statusCode).toBe(403);
      const allowed = await from(`Bearer ${admin}`);
      expect(allowed.statusCode).toBe(200);
      expect(sampleValue(parsePrometheusText(allowed.body), 'devlab_model_trusted')).toBe(0);
    },
  );
});
