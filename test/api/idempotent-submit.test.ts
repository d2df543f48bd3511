import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../devices/inventory/load.ts';
import { buildApi } from '../../harness/api/app.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { ApiClient } from '../../harness/cli/api-client.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { submitRun } from '../../harness/cli/submit-run.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { ControlPlane } from '../../harness/server/control-plane.ts';
import { Store } from '../../harness/store/store.ts';
import { defineTest } from '../../suites/define-test.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { fixedDurations, tableRanker } from '../support/lab-harness.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { containerBox } from '../support/container-box.ts';

const inventory = parseInventory(
  `devices:${containerBox({ id: 'idem-box', name: 'idem-box', model: 'idem-model', host: 'nobody', memoryMb: 32 })}`,
);

const tests: TestMeta[] = ['idem.a', 'idem.b', 'idem.c'].map((id) => {
  const { body: _body, ...meta } = defineTest(
    { id, title: id, tags: ['idem'], component: 'idem', owner: 'qa', timeoutMs: 60_000 },
    async () => {},
  );
  return meta;
});

/**
 * The real control plane (SQLite file, Redis queues) and its HTTP API on loopback, no agent: runs only
 * queue. `planDelayMs` makes planning slow, like a big catalog or a busy store.
 */
describe('idempotent submit (Idempotency-Key) on the real control plane', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-idem-'));
  const keys = labKeys(`devlab-idem-${process.pid}`);
  let store: Store;
  let redis: Redis;
  let controlPlane: ControlPlane;
  let api: FastifyInstance;
  let url: string;
  let planDelayMs = 0;
  /** How often a request was planned: a replay or a twin waiting for the one in flight plans nothing. */
  let plans = 0;

  const newControlPlane = (s: Store) =>
    new ControlPlane({
      store: s,
      redis,
      keys,
      resolveTests: async () => {
        plans++;
        if (planDelayMs > 0) await new Promise((r) => setTimeout(r, planDelayMs));
        return tests;
      },
      resolveDevices: () => inventory,
      ranker: tableRanker({}),
      durations: fixedDurations,
    });
  const newApi = () => buildApi({ controlPlane, artifacts: new ArtifactStore(home, store.artifacts) });

  const post = (body: unknown, key?: string) =>
    fetch(`${url}/api/runs`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'Idempotency-Key': key }),
      },
      body: JSON.stringify(body),
    });
  const runsWithKey = (partner: string, key: string) =>
    store.runs.list({ partner, limit: 500 }).filter((r) => r.idempotencyKey === key);

  /** `devlab run submit` as its own process (asynchronous: the control plane it asks lives in this one). */
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), 'run', 'submit', ...args],
        { cwd: PROJECT_ROOT, env: { ...process.env, DEVLAB_HOME: home }, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
  /** A loopback port nothing listens on (an API started and closed). */
  const deadPort = async () => {
    const down = newApi();
    await down.listen({ host: '127.0.0.1', port: 0 });
    const { port } = down.server.address() as AddressInfo;
    await down.close();
    return port;
  };

  beforeAll(async () => {
    if (!up) return;
    store = Store.open(path.join(home, 'devlab.db'));
    redis = redisConnection(REDIS_URL);
    controlPlane = newControlPlane(store);
    await controlPlane.start();
    api = newApi();
    url = await api.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    if (up) {
      await controlPlane.stop();
      await api.close();
      redis.disconnect();
      store.close();
    }
    await removeTestLab(keys.queuePrefix, home, up);
  });

  it.skipIf(!up)(
    "a new run's answer counts its jobs from the plan, as the store counts them (skipped at planning too)",
    async () => {
      for (const [body, skipped] of [
        [{ query: 'tag:idem', partner: 'acme', build: 'b-counts' }, undefined],
        // A budget for one test (6 s each, a tenth of the timeout): the other two are planned as skipped jobs.
        [{ query: 'tag:idem', partner: 'acme', build: 'b-counts', options: { budgetS: 7 } }, 2],
      ] as const) {
        const res = await post(body);
        expect(res.status).toBe(201);
        const created = (await res.json()) as { id: string; counts: object; total: number; devices: object };
        const stored = (await (await fetch(`${url}/api/runs/${created.id}`)).json()) as typeof created;
        expect(created.total).toBe(3);
        expect((created.counts as { skipped?: number }).skipped).toBe(skipped);
        expect({ counts: created.counts, total: created.total, devices: created.devices }).toEqual({
          counts: stored.counts,
          total: stored.total,
          devices: stored.devices,
        });
      }
    },
  );

  it.skipIf(!up)(
    'the same key twice makes one run: the second answer is the first run, 200 and replayed',
    async () => {
      const body = { query: 'tag:idem', partner: 'acme', build: 'b-1' };
      const plansBefore = plans;
      const first = await post(body, 'ci-123:attempt-1');
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const created = (await first.json()) as { id: string; jobs: unknown[]; unplanned: unknown[] };
      // The same request with its defaults spelled out is the same request.
      const again = await post(
        {
          ...body,
          select: '',
          priority: 'release',
          options: { ordering: 'risk', changedComponents: [], infraRetries: 2 },
        },
        '"ci-123:attempt-1"',
      );
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(`/api/runs/${created.id}`);
      const replayed = (await again.json()) as typeof created;
      expect(replayed.id).toBe(created.id);
      expect(replayed.jobs).toEqual(created.jobs);
      expect(replayed.unplanned).toEqual(created.unplanned);
      expect(Object.keys(replayed).sort()).toEqual(Object.keys(created).sort());
      expect(runsWithKey('acme', 'ci-123:attempt-1').map((r) => r.id)).toEqual([created.id]);
      expect(plans - plansBefore).toBe(1);
      expect(store.jobs.listByRun(created.id)).toHaveLength(3);
      // Without a key every submit is a new run, as before.
      const [a, b] = await Promise.all([post(body), post(body)]);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(((await a.json()) as { id: string }).id).not.toBe(((await b.json()) as { id: string }).id);
    },
  );

  it.skipIf(!up)(
    'concurrent submits with the same key make one run, also while planning is slow',
    async () => {
      planDelayMs = 300;
      try {
        const body = { query: 'tag:idem', partner: 'acme', build: 'b-2' };
        const plansBefore = plans;
        const answers = await Promise.all(Array.from({ length: 5 }, () => post(body, 'concurrent-key')));
        const ids = await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id));
        expect(new Set(ids).size).toBe(1);
        expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
        expect(runsWithKey('acme', 'concurrent-key')).toHaveLength(1);
        // The twins waited for the submit in flight instead of planning a run of their own.
        expect(plans - plansBefore).toBe(1);
      } finally {
        planDelayMs = 0;
      }
    },
  );

  it.skipIf(!up)(
    'the unique index keeps one run when two control planes on one store race with a key',
    async () => {
      const otherStore = Store.open(path.join(home, 'devlab.db'));
      const other = newControlPlane(otherStore);
      planDelayMs = 200;
      try {
        const request = { query: 'tag:idem', partner: 'acme', build: 'b-race' };
        const [one, two] = await Promise.all([
          controlPlane.submit(request, 'race-key'),
          other.submit(request, 'race-key'),
        ]);
        expect(one.run.id).toBe(two.run.id);
        expect([one.replayed, two.replayed].filter(Boolean)).toHaveLength(1);
        expect(runsWithKey('acme', 'race-key')).toHaveLength(1);
        expect(store.jobs.listByRun(one.run.id)).toHaveLength(3);
      } finally {
        planDelayMs = 0;
        await other.stop();
        otherStore.close();
      }
    },
  );

  it.skipIf(!up)('the same key for different partners makes two runs', async () => {
    const a = await post({ query: 'tag:idem', partner: 'acme' }, 'shared-key');
    const b = await post({ query: 'tag:idem', partner: 'globex' }, 'shared-key');
    expect([a.status, b.status]).toEqual([201, 201]);
    const [runA, runB] = [runsWithKey('acme', 'shared-key'), runsWithKey('globex', 'shared-key')];
    expect(runA).toHaveLength(1);
    expect(runB).toHaveLength(1);
    expect(runA[0]!.id).not.toBe(runB[0]!.id);
  });

  it.skipIf(!up)(
    'the same key with a different request is a 422 naming the header; nothing is created',
    async () => {
      const first = await post({ query: 'tag:idem', partner: 'acme', build: 'b-3' }, 'reused-key');
      const { id } = (await first.json()) as { id: string };
      const res = await post({ query: 'tag:idem', partner: 'acme', build: 'b-4' }, 'reused-key');
      expect(res.status).toBe(422);
      const err = (await res.json()) as { error: string; field: string };
      expect(err.field).toBe('Idempotency-Key');
      expect(err.error).toContain('already used with a different request');
      expect(err.error).toContain(id);
      expect(runsWithKey('acme', 'reused-key').map((r) => r.id)).toEqual([id]);
    },
  );

  it.skipIf(!up)('a malformed key is a 400 naming the header', async () => {
    for (const key of ['', '""', 'has space', 'x'.repeat(129), 'two,keys', 'semi;colon']) {
      const res = await post({ query: 'tag:idem' }, key);
      expect(res.status, key).toBe(400);
      expect(((await res.json()) as { field: string }).field).toBe('Idempotency-Key');
    }
  });

  it.skipIf(!up)(
    'the OpenAPI document describes the header, the replay (200) and the conflict (422)',
    async () => {
      const doc = (await (await fetch(`${url}/api/openapi.json`)).json()) as {
        paths: Record<
          string,
          Record<
            string,
            { parameters?: { name: string; in: string }[]; responses: Record<string, { headers?: object }> }
          >
        >;
      };
      const submit = doc.paths['/api/runs']!['post']!;
      expect(submit.parameters).toContainEqual(
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
      );
      expect(Object.keys(submit.responses)).toEqual(expect.arrayContaining(['200', '201', '422']));
      expect(submit.responses['200']!.headers).toHaveProperty('Idempotent-Replayed');
    },
  );

  it.skipIf(!up)(
    'the CLI client retries with the same key when the answer is lost after the run was created',
    async () => {
      // A second API on the same control plane whose first answer to a submit is cut: the run exists, the
      // client sees a reset connection.
      const cutting = newApi();
      let cut = 0;
      cutting.addHook('onSend', async (req, _reply, payload) => {
        if (req.method === 'POST' && req.url === '/api/runs' && cut++ === 0) req.raw.socket.destroy();
        return payload;
      });
      const cuttingUrl = await cutting.listen({ host: '127.0.0.1', port: 0 });
      const log: string[] = [];
      try {
        const { run, replayed } = await submitRun<{ id: string }>(
          new ApiClient(cuttingUrl),
          { query: 'tag:idem', partner: 'acme', build: 'b-cut' },
          { key: 'cli-cut-key', retryForMs: 10_000, log: (l) => log.push(l) },
        );
        expect(cut).toBe(2);
        expect(replayed).toBe(true);
        expect(log).toHaveLength(2);
        expect(log[0]).toMatch(/trying again in 0\.5 s with the same idempotency key cli-cut-key/);
        expect(log[1]).toMatch(/submit: the server answered again after \d+ s/);
        expect(runsWithKey('acme', 'cli-cut-key').map((r) => r.id)).toEqual([run.id]);
      } finally {
        await cutting.close();
      }
    },
  );

  it.skipIf(!up)(
    'the CLI client waits out a slow submit and a server outage, and ends with one run',
    async () => {
      // Slow: each try gives up after 200 ms, planning takes 700 ms; the tries join the one in flight.
      planDelayMs = 700;
      const log: string[] = [];
      const plansBefore = plans;
      try {
        const slow = await submitRun<{ id: string }>(
          new ApiClient(url),
          { query: 'tag:idem', partner: 'acme', build: 'b-slow' },
          { key: 'cli-slow-key', retryForMs: 10_000, timeoutMs: 200, log: (l) => log.push(l) },
        );
        expect(log[0]).toMatch(/no answer within 0\.2 s; trying again/);
        expect(slow.replayed).toBe(true);
        expect(runsWithKey('acme', 'cli-slow-key').map((r) => r.id)).toEqual([slow.run.id]);
        expect(plans - plansBefore).toBe(1);
      } finally {
        planDelayMs = 0;
      }

      // Outage: the API is down when the client starts and comes back on the same port 1.5 s later.
      const port = await deadPort();
      log.length = 0;
      let back: FastifyInstance | undefined;
      const restart = new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          back = newApi();
          back.listen({ host: '127.0.0.1', port }).then(() => resolve(), reject);
        }, 1500),
      );
      try {
        const { run, replayed } = await submitRun<{ id: string }>(
          new ApiClient(`http://127.0.0.1:${port}`),
          { query: 'tag:idem', partner: 'acme', build: 'b-outage' },
          { key: 'cli-outage-key', retryForMs: 20_000, log: (l) => log.push(l) },
        );
        await restart;
        expect(replayed).toBe(false);
        expect(log.length).toBeGreaterThanOrEqual(2);
        expect(log[0]).toMatch(
          /ECONNREFUSED; trying again in 0\.5 s with the same idempotency key cli-outage-key/,
        );
        expect(runsWithKey('acme', 'cli-outage-key').map((r) => r.id)).toEqual([run.id]);
      } finally {
        await restart.catch(() => {});
        await back?.close();
      }
    },
  );

  it.skipIf(!up)(
    'the CLI client gives up after the retry time, naming the key to submit again with',
    async () => {
      const port = await deadPort();
      const log: string[] = [];
      await expect(
        submitRun(
          new ApiClient(`http://127.0.0.1:${port}`),
          { query: 'tag:idem' },
          {
            key: 'cli-gone-key',
            retryForMs: 1000,
            log: (l) => log.push(l),
          },
        ),
      ).rejects.toThrow(/gave up after 2 tries.*--idempotency-key cli-gone-key/);
      expect(log).toHaveLength(1);
    },
  );

  it.skipIf(!up)(
    '`devlab run submit` sends a key per invocation, or the given one, and says when it was a replay',
    async () => {
      const args = ['-q', 'tag:idem', '--partner', 'acme', '--build', 'b-proc', '--server', url];
      const first = await cli(...args, '--idempotency-key', 'cli-proc-key');
      const again = await cli(...args, '--idempotency-key', 'cli-proc-key');
      expect(first.status, first.stderr).toBe(0);
      expect(again.status, again.stderr).toBe(0);
      const id = /^run (\S+): 3 job\(s\) planned\n$/.exec(first.stdout)?.[1];
      expect(id).toBeDefined();
      expect(again.stdout).toBe(
        `run ${id}: 3 job(s) planned (already submitted with this idempotency key)\n`,
      );
      expect(runsWithKey('acme', 'cli-proc-key').map((r) => r.id)).toEqual([id]);
      // Without --idempotency-key: a fresh UUID per invocation, so the same request is a new run.
      const plain = await cli(...args);
      const plainId = /^run (\S+):/.exec(plain.stdout)?.[1];
      expect(plainId).toBeDefined();
      expect(plainId).not.toBe(id);
      expect(store.runs.get(plainId!)!.idempotencyKey).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}$/);

      const bad = await cli(...args, '--idempotency-key', 'has space');
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain('letters, digits');
    },
    // Four CLI processes on a shared, loaded machine.
    120_000,
  );

  it.skipIf(!up)(
    '`devlab run submit` retries on stderr with its key, then gives up with exit 2 naming it',
    async () => {
      const port = await deadPort();
      const res = await cli('-q', 'tag:idem', '--server', `http://127.0.0.1:${port}`, '--retry-for', '1');
      expect(res.status).toBe(2);
      const key = /with the same idempotency key (\S+) \(for 1 s more\)/.exec(res.stderr)?.[1];
      expect(key, res.stderr).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.stderr).toContain('ECONNREFUSED; trying again in 0.5 s');
      expect(res.stderr).toContain(
        `gave up after 2 tries. The run may exist: submit again with --idempotency-key ${key}`,
      );
    },
  );
});
