import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { hashToken } from '../../harness/store/token-secret.ts';
import { liveDevicesProvider } from '../../harness/api/live-devices.ts';
import { type LabHarness, startLabHarness, waitForRun } from '../support/lab-harness.ts';
import { dockerUp, redisUp, requireService } from '../support/services.ts';
import { type AuthedApi, call, startAuthedApi } from './authed-api.ts';
import { containerBox, shellTest } from '../support/container-box.ts';

// Every control plane on a Redis consumes the one shared results queue and drops reports of jobs it does
// not know, so a lab running elsewhere on the machine would swallow this file's reports. A Redis database
// of our own keeps these labs apart (an explicit DEVLAB_REDIS_URL still wins). Hoisted above the imports
// because test/support/services.ts reads the URL when it loads.
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

// Model names of their own so these pools' queues never meet another test file's.
const INVENTORY = `
devices:
${containerBox({ id: 'api-auth-box-1', name: 'API auth container box', model: 'api-auth-box', host: 'agent-api' })}${containerBox({ id: 'api-auth-spare-1', name: 'API auth spare (no agent)', model: 'api-auth-spare', host: 'nobody' })}`;

const TESTS = [shellTest('api.shell')];

describe('partner auth on the HTTP API (real Redis, SQLite file, Docker device)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness;
  let api: AuthedApi;
  let acme: string;
  let globex: string;
  let admin: string;
  let runId: string;
  let artifactUrl: string;
  const inventory = parseInventory(INVENTORY, 'api-auth.yaml');
  const spare = inventory.find((d) => d.id === 'api-auth-spare-1')!;

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: inventory.filter((d) => d.host === 'agent-api'),
      tests: TESTS,
      registry: createDriverRegistry({}),
      agentIds: ['agent-api'],
      appUrl: 'http://127.0.0.1:9/',
    });
    await lab.redis.del('devlab:device:api-auth-spare-1', 'devlab:device:api-auth-spare-1:log');
    api = await startAuthedApi(lab, {
      bodyLimitBytes: 64 * 1024,
      devices: liveDevicesProvider(lab.redis, [spare]),
    });
    acme = api.tokens.create('acme').token;
    globex = api.tokens.create('globex').token;
    admin = api.tokens.create('lab-ops', 'admin').token;
  });
  afterAll(async () => {
    await lab?.redis.del('devlab:device:api-auth-spare-1', 'devlab:device:api-auth-spare-1:log');
    await api?.close();
    await lab?.close();
  });

  it.skipIf(!up)('stores only sha256 hashes of tokens, never the plaintext', () => {
    const rows = lab.store.db.prepare('SELECT * FROM api_tokens').all() as Record<string, unknown>[];
    expect(rows).toHaveLength(3);
    for (const token of [acme, globex, admin]) {
      expect(token).toMatch(/^dlb_[A-Za-z0-9_-]{43}$/);
      expect(rows.some((r) => r['hash'] === hashToken(token))).toBe(true);
      expect(JSON.stringify(rows)).not.toContain(token);
    }
    // The bytes on disk too (database and write-ahead log), not just what the repo reads back.
    const file = path.join(lab.home, 'devlab.db');
    const disk = [file, `${file}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('');
    expect(disk).toContain(hashToken(acme));
    for (const token of [acme, globex, admin]) expect(disk).not.toContain(token);
    expect(
      api.tokens
        .list()
        .map((t) => t.partner)
        .sort(),
    ).toEqual(['acme', 'globex', 'lab-ops']);
  });

  it.skipIf(!up)('answers 401 without a token, with a wrong one and with a revoked one', async () => {
    const none = await call(`${api.url}/api/runs`, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(await none.json()).toMatchObject({ field: 'authorization' });
    expect((await call(`${api.url}/api/runs`, 'dlb_not-a-token')).status).toBe(401);
    const temp = api.tokens.create('acme');
    expect((await call(`${api.url}/api/runs`, temp.token)).status).toBe(200);
    expect(api.tokens.revoke(temp.id)).toBe(true);
    expect(api.tokens.revoke(temp.id)).toBe(false);
    expect((await call(`${api.url}/api/runs`, temp.token)).status).toBe(401);
    // Health and the API description stay open for monitoring and client generators.
    expect((await call(`${api.url}/api/health`, null)).status).toBe(200);
  });

  it.skipIf(!up)(
    'takes the partner from the token; a different body partner is a 400 naming it',
    async () => {
      const wrong = await call(`${api.url}/api/runs`, acme, { method: 'POST', body: { partner: 'globex' } });
      expect(wrong.status).toBe(400);
      expect(await wrong.json()).toMatchObject({ field: 'partner' });
      const unknown = await call(`${api.url}/api/runs`, acme, { method: 'POST', body: { colour: 'red' } });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ field: 'colour' });
      const badType = await call(`${api.url}/api/runs`, acme, {
        method: 'POST',
        body: { options: { retries: -1 } },
      });
      expect(await badType.json()).toMatchObject({ field: 'options.retries' });
      const badJson = await call(`${api.url}/api/runs`, acme, { method: 'POST', raw: '{"query":' });
      expect(badJson.status).toBe(400);
      expect(await badJson.json()).toMatchObject({ field: 'body' });

      const res = await call(`${api.url}/api/runs`, acme, {
        method: 'POST',
        body: { build: 'b-auth', priority: 'ci-pr' },
      });
      expect(res.status).toBe(201);
      const created = (await res.json()) as {
        id: string;
        partner: string;
        jobs: unknown[];
        statusUrl: string;
      };
      expect(created.partner).toBe('acme');
      expect(created.statusUrl).toBe(`${api.url}/api/runs/${created.id}`);
      expect(res.headers.get('location')).toBe(`/api/runs/${created.id}`);
      expect(created.jobs).toHaveLength(1);
      runId = created.id;
      expect(await waitForRun(lab.store, runId, 60_000)).toBe('passed');

      const results = (await (await call(`${api.url}/api/runs/${runId}/results`, acme)).json()) as {
        jobs: { artifacts: { name: string; url: string }[] }[];
      };
      artifactUrl = results.jobs[0]!.artifacts.find((a) => a.name === 'exec.txt')!.url;
      expect((await (await call(`${api.url}${artifactUrl}`, acme)).text()).trim()).toBe('ready');
    },
  );

  it.skipIf(!up)("answers 404 for every one of another partner's resources", async () => {
    expect(runId).toBeDefined();
    const paths = [
      `/api/runs/${runId}`,
      `/api/runs/${runId}/results`,
      `/api/runs/${runId}/junit`,
      `/api/runs/${runId}/events`,
      artifactUrl,
    ];
    for (const p of paths) {
      const own = await call(`${api.url}${p}`, acme);
      expect([p, own.status]).toEqual([p, 200]);
      const body = await own.text();
      if (p.endsWith('/events')) expect(body).toContain('event: run.finished');
      const other = await call(`${api.url}${p}`, globex);
      expect([p, other.status]).toEqual([p, 404]);
      // Indistinguishable from a run that does not exist.
      const missing = await call(
        `${api.url}${p.replace(runId, 'run-nope').replace(/[0-9a-f]{8,}$/, 'deadbeef00')}`,
        globex,
      );
      expect((await other.json()).error.replace(/\S+ not found/, 'X not found')).toBe(
        (await missing.json()).error.replace(/\S+ not found/, 'X not found'),
      );
    }
    const cancel = await call(`${api.url}/api/runs/${runId}/cancel`, globex, { method: 'POST' });
    expect(cancel.status).toBe(404);
    const globexRuns = (await (await call(`${api.url}/api/runs?partner=acme`, globex)).json()) as unknown[];
    expect(globexRuns).toEqual([]);
    const adminRuns = (await (await call(`${api.url}/api/runs`, admin)).json()) as { id: string }[];
    expect(adminRuns.map((r) => r.id)).toContain(runId);
    expect((await call(`${api.url}/api/runs/${runId}/junit`, admin)).status).toBe(200);
  });

  it.skipIf(!up)('lets an admin submit for any partner', async () => {
    const res = await call(`${api.url}/api/runs`, admin, {
      method: 'POST',
      body: { partner: 'globex', build: 'b-admin' },
    });
    expect(res.status).toBe(201);
    const run = (await res.json()) as { partner: string; jobs: unknown[] };
    expect(run.partner).toBe('globex');
    expect(run.jobs.length).toBeGreaterThan(0);
  });

  it.skipIf(!up)('refuses a body over the limit with 413 naming the body', async () => {
    const res = await call(`${api.url}/api/runs`, acme, {
      method: 'POST',
      body: { build: 'x'.repeat(100 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ field: 'body' });
  });

  it.skipIf(!up)('shows devices to any token and lets only admins change them', async () => {
    const list = (await (await call(`${api.url}/api/devices`, acme)).json()) as {
      id: string;
      state: string;
    }[];
    expect(list).toEqual([expect.objectContaining({ id: spare.id, state: 'available' })]);
    const url = `${api.url}/api/devices/${spare.id}`;
    expect((await call(`${url}/block`, acme, { method: 'POST', body: { reason: 'mine' } })).status).toBe(403);
    const noReason = await call(`${url}/block`, admin, { method: 'POST', body: {} });
    expect(noReason.status).toBe(400);
    expect(await noReason.json()).toMatchObject({ field: 'reason' });
    const blocked = await call(`${url}/block`, admin, { method: 'POST', body: { reason: 'HDMI flaky' } });
    expect(await blocked.json()).toMatchObject({ id: spare.id, state: 'blocked', reason: 'HDMI flaky' });
    const illegal = await call(`${url}/drain`, admin, { method: 'POST', body: { reason: 'x' } });
    expect(illegal.status).toBe(409);
    const back = await call(`${url}/unblock`, admin, { method: 'POST', body: { reason: 'fixed' } });
    expect(await back.json()).toMatchObject({ state: 'available' });
    expect(
      (await call(`${api.url}/api/devices/nope/block`, admin, { method: 'POST', body: { reason: 'x' } }))
        .status,
    ).toBe(404);
  });

  it.skipIf(!up)('answers 429 to repeated bad tokens from one address, never to a valid token', async () => {
    const strict = await startAuthedApi(lab, { maxFailuresPerMinute: 5 });
    try {
      // Requests without any token are not guesses and do not count towards the limit.
      for (let i = 0; i < 6; i++) expect((await call(`${strict.url}/api/runs`, null)).status).toBe(401);
      expect((await call(`${strict.url}/api/runs`, acme)).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++)
        statuses.push((await call(`${strict.url}/api/runs`, `dlb_guess-${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      const guess = await call(`${strict.url}/api/runs`, 'dlb_guess-again');
      expect(guess.status).toBe(429);
      expect(Number(guess.headers.get('retry-after'))).toBeGreaterThan(0);
      // The same address (one NAT for everyone) with valid tokens: a partner and an admin get through.
      expect((await call(`${strict.url}/api/runs`, acme)).status).toBe(200);
      expect((await call(`${strict.url}/api/runs`, admin)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});
