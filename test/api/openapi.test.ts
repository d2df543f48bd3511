import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApi } from '../../harness/api/app.ts';
import { liveDevicesProvider } from '../../harness/api/live-devices.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import type { LabHarness } from '../support/lab-harness.ts';
import { redisUp, requireService } from '../support/services.ts';
import { idleLabInventory, startIdleLab } from '../security/idle-lab.ts';
import { rawRequest } from '../security/raw-http.ts';

// Every control plane on a Redis consumes the one shared results queue and drops reports of jobs it does
// not know, so a lab running elsewhere on the machine would swallow this file's reports. A Redis database
// of our own keeps these labs apart (an explicit DEVLAB_REDIS_URL still wins). Hoisted above the imports
// because test/support/services.ts reads the URL when it loads.
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }>; headers?: object }>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

const AGENT = 'agent-openapi';
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');
/** A JSON pointer segment inside a URI fragment. */
const pointer = (segment: string) => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));

describe('the OpenAPI document, generated from the routes’ schemas', async () => {
  const up = await requireService('Redis', redisUp);
  const inventory = idleLabInventory('openapi');
  let lab: LabHarness;
  let app: FastifyInstance;
  let url: string;
  let admin: string;
  let doc: Document;
  const routes: RouteOptions[] = [];

  beforeAll(async () => {
    if (!up) return;
    lab = await startIdleLab('openapi', inventory);
    const tokens = new TokensRepo(lab.store.db);
    app = buildApi({
      controlPlane: lab.controlPlane,
      artifacts: new ArtifactStore(lab.home, lab.store.artifacts),
      agentToken: AGENT,
      tokens,
      auth: { enabled: true },
      devices: liveDevicesProvider(lab.redis, inventory, { prefix: lab.keys.keyPrefix }),
    });
    // The routes are declared when the app starts: this hook sees each of them.
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    admin = tokens.create('lab-ops', 'admin').token;
  });
  afterAll(async () => {
    await app?.close();
    await lab?.close();
  });

  it.skipIf(!up)(
    'is served without a token as OpenAPI 3.1 JSON with /api/runs and the run request schema',
    async () => {
      const res = await fetch(`${url}/api/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      doc = JSON.parse(await res.text()) as Document;
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/runs',
          '/api/runs/preview',
          '/api/runs/{id}',
          '/api/artifacts/{id}',
          '/api/devices',
        ]),
      );
      const requestBody = (path: string) =>
        doc.paths[path]!['post']!.requestBody!.content['application/json']!.schema;
      expect(requestBody('/api/runs/preview')).toEqual({ $ref: '#/components/schemas/RunRequest' });
      expect(requestBody('/api/runs')).toEqual({ $ref: '#/components/schemas/RunRequest' });
      expect(Object.keys(doc.components.schemas['PlanPreview']?.properties ?? {}).sort()).toEqual([
        'budget',
        'confidence',
        'droppedSuites',
        'jobs',
        'ranker',
        'unplanned',
      ]);
      const request = doc.components.schemas['RunRequest']!;
      expect(Object.keys(request.properties ?? {}).sort()).toEqual(
        ['baseBuild', 'build', 'change', 'options', 'partner', 'priority', 'query', 'select'].sort(),
      );
      // Only the components the paths use, under plain names.
      expect(Object.keys(doc.components.schemas).sort()).toEqual([
        'Device',
        'DeviceAction',
        'Error',
        'Job',
        'PlanPreview',
        'Report',
        'Run',
        'RunRequest',
        'RunResults',
        'SubmittedRun',
      ]);

      // The published schema and the zod schema the route validates with agree on real bodies.
      const validate = new Ajv2020({ strict: false }).compile(request);
      const bodies: unknown[] = [
        {},
        { query: 'tag:smoke', priority: 'ci-pr', options: { retries: 1 } },
        { priority: 'urgent' },
        { partner: 'Not Valid' },
        { options: { retries: -1 } },
        { colour: 'red' },
      ];
      for (const body of bodies)
        expect([body, validate(body)]).toEqual([body, runRequestSchema.safeParse(body).success]);
    },
  );

  it.skipIf(!up)('describes every route, each with its request and answer schemas, and nothing else', () => {
    const described = routes.filter(
      (r) => r.method !== 'HEAD' && (r.url.startsWith('/api/') || r.url.startsWith('/internal/')),
    );
    expect(described.length).toBeGreaterThanOrEqual(18);
    for (const route of described) {
      const where = `${String(route.method)} ${route.url}`;
      const op = doc.paths[openApiPath(route.url)]?.[String(route.method).toLowerCase()];
      expect(op, where).toBeDefined();
      const schema = (route.schema ?? {}) as Record<string, unknown>;
      // Every answer declared: a 2xx, and a schema under each media type of each answer.
      expect(schema['response'], where).toBeDefined();
      expect(
        Object.keys(op!.responses).some((code) => code.startsWith('2')),
        where,
      ).toBe(true);
      for (const [code, answer] of Object.entries(op!.responses)) {
        const media = Object.values(answer.content ?? {});
        expect(media.length > 0 && media.every((m) => m.schema !== undefined), `${where} ${code}`).toBe(true);
      }
      const params = op!.parameters ?? [];
      for (const name of route.url.match(/:\w+/g) ?? [])
        expect(params, where).toContainEqual(expect.objectContaining({ in: 'path', name: name.slice(1) }));
      if (schema['querystring'])
        expect(
          params.some((p) => p.in === 'query'),
          where,
        ).toBe(true);
      if (schema['headers'])
        expect(
          params.some((p) => p.in === 'header'),
          where,
        ).toBe(true);
      if (schema['body']) {
        const media = Object.values(op!.requestBody?.content ?? {});
        expect(media.length > 0 && media.every((m) => m.schema !== undefined), where).toBe(true);
      }
    }
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(described.map((r) => `${r.method} ${openApiPath(r.url)}`).sort());
    // Public paths say so; the agents' upload takes the agent token.
    expect(doc.paths['/api/health']!['get']!.security).toEqual([]);
    expect(doc.paths['/api/openapi.json']!['get']!.security).toEqual([]);
    expect(doc.paths['/internal/artifacts/{id}']!['put']!.security).toEqual([{ agent: [] }]);
    expect(Object.keys(doc.paths['/internal/artifacts/{id}']!['put']!.requestBody!.content)).toEqual([
      'application/octet-stream',
    ]);
  });

  it.skipIf(!up)('the answers of a run’s routes are what the document says', async () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...doc, $id: 'openapi' });
    // Not vacuous: a run without its fields is no run.
    expect(ajv.compile({ $ref: 'openapi#/components/schemas/Run' })({ id: 'x' })).toBe(false);
    const matches = async (res: Response, path: string, method: string) => {
      const code = String(res.status);
      const text = await res.text();
      const ref = ['paths', path, method, 'responses', code, 'content', 'application/json', 'schema']
        .map(pointer)
        .join('/');
      const validate = ajv.compile({ $ref: `openapi#/${ref}` });
      const body = JSON.parse(text) as unknown;
      expect(validate(body), `${method} ${path} ${code}: ${JSON.stringify(validate.errors)}`).toBe(true);
      return body as Record<string, unknown>;
    };
    const call = (path: string, init: { method?: string; body?: unknown; headers?: object } = {}) =>
      fetch(`${url}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${admin}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });

    const created = await call('/api/runs', { method: 'POST', body: { partner: 'acme', build: 'b-doc' } });
    expect(created.status).toBe(201);
    const run = await matches(created, '/api/runs', 'post');
    const runId = String(run['id']);
    const jobId = String((run['jobs'] as { id: string }[])[0]!.id);
    const replay = await call('/api/runs', {
      method: 'POST',
      body: { partner: 'acme', build: 'b-doc-2' },
      headers: { 'idempotency-key': 'doc-key' },
    });
    expect(replay.status).toBe(201);
    await replay.text();
    const again = await call('/api/runs', {
      method: 'POST',
      body: { partner: 'acme', build: 'b-doc-2' },
      headers: { 'idempotency-key': 'doc-key' },
    });
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    await matches(again, '/api/runs', 'post');
    await matches(await call('/api/runs/preview', { method: 'POST', body: {} }), '/api/runs/preview', 'post');
    await matches(await call('/api/runs'), '/api/runs', 'get');
    await matches(await call(`/api/runs/${runId}`), '/api/runs/{id}', 'get');

    const upload = await fetch(
      `${url}/internal/artifacts/ab12cd34?run=${runId}&job=${jobId}&attempt=1&name=log.txt`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${AGENT}`, 'content-type': 'application/octet-stream' },
        body: 'a log line',
      },
    );
    expect(upload.status).toBe(201);
    await matches(upload, '/internal/artifacts/{id}', 'put');
    const results = await matches(await call(`/api/runs/${runId}/results`), '/api/runs/{id}/results', 'get');
    const jobs = results['jobs'] as { artifacts: { url: string }[] }[];
    expect(jobs[0]!.artifacts.map((a) => a.url)).toEqual(['/api/artifacts/ab12cd34']);

    await matches(await call('/api/devices'), '/api/devices', 'get');
    const device = inventory[0]!.id;
    const drained = await call(`/api/devices/${device}/drain`, { method: 'POST', body: { reason: 'doc' } });
    expect(drained.status).toBe(200);
    await matches(drained, '/api/devices/{id}/drain', 'post');
    await matches(
      await call(`/api/runs/${runId}/cancel`, { method: 'POST' }),
      '/api/runs/{id}/cancel',
      'post',
    );
    await matches(await call('/api/health'), '/api/health', 'get');

    // Error answers too.
    const bad = await call('/api/runs', { method: 'POST', body: { options: { retries: -1 } } });
    expect((await matches(bad, '/api/runs', 'post'))['field']).toBe('options.retries');
    await matches(await call('/api/runs/run-none'), '/api/runs/{id}', 'get');
    await matches(await fetch(`${url}/api/runs`), '/api/runs', 'get');
  });

  it.skipIf(!up)(
    'submit and preview answers stay streamed a slice at a time; other answers are serialized whole',
    async () => {
      const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
      for (const path of ['/api/runs', '/api/runs/preview']) {
        const res = await rawRequest(url, path, { method: 'POST', headers, body: '{"partner": "acme"}' });
        expect([path, res.status]).toEqual([path, path === '/api/runs' ? 201 : 200]);
        // A stream: sent in chunks as the slices are serialized, no length known up front.
        expect([path, res.headers['transfer-encoding'], res.headers['content-length']]).toEqual([
          path,
          'chunked',
          undefined,
        ]);
        expect(JSON.parse(res.text)).toHaveProperty('jobs');
      }
      const list = await rawRequest(url, '/api/runs', { headers: { authorization: `Bearer ${admin}` } });
      expect(list.headers['content-length']).toBe(String(list.body.length));
    },
  );
});
