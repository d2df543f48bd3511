import type { FastifyInstance, InjectOptions } from 'fastify';
import { validatorCompiler as typeProviderValidator } from 'fastify-type-provider-zod';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ReportData } from '../../analysis/report/build.ts';
import type { ApiDeps } from '../../harness/api/api-deps.ts';
import { buildApi } from '../../harness/api/app.ts';
import type { DevicesProvider, DeviceView } from '../../harness/api/devices-provider.ts';
import type { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import type { ControlPlane } from '../../harness/server/control-plane.ts';
import type { TokensRepo } from '../../harness/store/tokens-repo.ts';

/**
 * The route schemas without a lab: requests that fail validation never reach a handler, and the answers
 * of the device and report routes come from the stubs given here. (The routes over a real control plane
 * are covered by openapi.test.ts and the fuzz tests.)
 */
const apps: FastifyInstance[] = [];

function stubApi(deps: Partial<ApiDeps> = {}): FastifyInstance {
  const app = buildApi({
    controlPlane: { store: {} } as unknown as ControlPlane,
    artifacts: {} as ArtifactStore,
    tokens: {} as TokensRepo,
    dashboard: false,
    ...deps,
  });
  apps.push(app);
  return app;
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function answer(app: FastifyInstance, request: InjectOptions) {
  const res = await app.inject(request);
  return { status: res.statusCode, json: JSON.parse(res.body) as Record<string, unknown> };
}

const postJson = (url: string, payload: string, headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', ...headers },
  payload,
});

const DEVICE: DeviceView = {
  id: 'tv-1',
  name: 'TV one',
  driver: 'appium',
  model: 'tv',
  platform: 'tizen',
  os: 'Tizen 8',
  firmware: '8.0',
  capabilities: { codecs: ['h264'], hdr: [], drm: {}, resolution: '1080p', memoryMb: 1024, input: ['dpad'] },
  host: 'agent-a',
  tags: [],
  settings: { server: 'http://127.0.0.1:4723', password: '***' },
  state: 'available',
};

function devicesOf(list: unknown[]): DevicesProvider {
  const none = async () => undefined;
  return { list: async () => list as DeviceView[], block: none, unblock: none, drain: none };
}

describe('route schemas: requests validated before the handler, answers serialized by schema', () => {
  it('answers carry only the fields their schema names', async () => {
    const app = stubApi({
      devices: devicesOf([{ ...DEVICE, internalNote: 'not for clients', settings: DEVICE.settings }]),
      report: {
        html: async () => '<html></html>',
        data: async () =>
          ({
            title: 't',
            generatedAt: 'now',
            risk: [{ test: 'a', device: 'b', probability: 0.5, reasons: [], modelInternals: [1, 2] }],
            rankedBy: 'failure record',
            flaky: [],
            debug: { heap: 1 },
          }) as unknown as ReportData,
      },
    });
    const devices = await answer(app, { method: 'GET', url: '/api/devices' });
    expect(devices.status).toBe(200);
    expect(devices.json).toEqual([DEVICE]);
    const report = await answer(app, { method: 'GET', url: '/api/report.json' });
    expect(report.status).toBe(200);
    expect(report.json).toEqual({
      title: 't',
      generatedAt: 'now',
      risk: [{ test: 'a', device: 'b', probability: 0.5, reasons: [] }],
      rankedBy: 'failure record',
      flaky: [],
    });
  });

  it('an answer its schema does not describe is a 500 that shows nothing of it', async () => {
    const { name: _name, ...nameless } = DEVICE;
    const app = stubApi({ devices: devicesOf([{ ...nameless, settings: { token: 'secret-value' } }]) });
    const res = await app.inject({ method: 'GET', url: '/api/devices' });
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'internal error' });
  });

  it('a 400 names the field: body paths, unknown keys, headers, query parameters and path parameters', async () => {
    const app = stubApi();
    const cases: [InjectOptions, string, RegExp][] = [
      [postJson('/api/runs', '{"colour": "red"}'), 'colour', /^colour: Unrecognized key/],
      [postJson('/api/runs', '{"options": {"colour": 1}}'), 'options.colour', /^options\.colour: /],
      [postJson('/api/runs', '{"options": {"retries": -1}}'), 'options.retries', /^options\.retries: /],
      [postJson('/api/runs/preview', '{"priority": "urgent"}'), 'priority', /^priority: /],
      [postJson('/api/runs', '[]'), 'body', /^body: /],
      [postJson('/api/runs', '"text"'), 'body', /^body: /],
      [
        postJson('/api/runs', '{}', { 'idempotency-key': 'has space' }),
        'Idempotency-Key',
        /^Idempotency-Key: an idempotency key is letters, digits/,
      ],
      [
        { method: 'GET', url: '/api/runs?partner=a&partner=b' },
        'partner',
        /^partner: give this query parameter once$/,
      ],
      [
        {
          method: 'PUT',
          url: '/internal/artifacts/not-hex',
          headers: { 'content-type': 'application/octet-stream' },
          payload: Buffer.from('x'),
        },
        'id',
        /^id: artifact id must be 8 to 40 hex digits$/,
      ],
      [postJson('/api/devices/tv-1/block', '{}'), 'reason', /^reason: /],
      [postJson('/api/devices/tv-1/block', '{"reason": "  "}'), 'reason', /^reason: /],
    ];
    const withDevices = stubApi({ devices: devicesOf([DEVICE]) });
    for (const [request, field, error] of cases) {
      const target = String(request.url).startsWith('/api/devices') ? withDevices : app;
      const { status, json } = await answer(target, request);
      const where = `${request.method} ${request.url} ${String(request.payload ?? '')}`;
      expect([where, status, json['field']]).toEqual([where, 400, field]);
      expect(json['error'], where).toMatch(error);
    }
  });

  it('a validation error in Fastify\u2019s own shape (the type provider\u2019s compiler) names the field too', async () => {
    const app = stubApi();
    app.register(async (probe) => {
      probe.setValidatorCompiler(typeProviderValidator);
      probe.post(
        '/api/probe',
        {
          schema: {
            body: z.object({ a: z.object({ b: z.number() }) }),
            headers: z.object({ 'x-probe-mode': z.enum(['on', 'off']) }),
          },
        },
        async () => ({ ok: true }),
      );
    });
    const body = await answer(app, postJson('/api/probe', '{"a": {"b": "x"}}', { 'x-probe-mode': 'on' }));
    expect([body.status, body.json['field']]).toEqual([400, 'a.b']);
    expect(body.json['error']).toMatch(/^a\.b: Invalid input: expected number/);
    const header = await answer(app, postJson('/api/probe', '{"a": {"b": 1}}', { 'x-probe-mode': 'up' }));
    expect([header.status, header.json['field']]).toEqual([400, 'X-Probe-Mode']);
  });

  it('a request without a body is an empty one; a key quoted at length is cut in the answer', async () => {
    const app = stubApi({ devices: devicesOf([DEVICE]) });
    const noReason = await answer(app, { method: 'POST', url: '/api/devices/tv-1/drain' });
    expect([noReason.status, noReason.json['field']]).toEqual([400, 'reason']);
    const key = 'k'.repeat(5_000);
    const long = await answer(app, postJson('/api/runs', JSON.stringify({ [key]: 1 })));
    expect(long.status).toBe(400);
    expect(String(long.json['field'])).toMatch(/^k{1000}… \(4000 more characters\)$/);
    expect(String(long.json['error']).length).toBeLessThan(1100);
  });

  it('a key that names a prototype is a 400 that says which key and where', async () => {
    const app = stubApi({ devices: devicesOf([DEVICE]) });
    const cases: [string, string, string][] = [
      ['/api/runs', '{"__proto__": {"polluted": true}}', '__proto__'],
      ['/api/runs', '{"options": {"__proto__": {"retries": 1}}}', 'options.__proto__'],
      ['/api/runs/preview', '{"query": "", "x": [1, {"\\u005f_proto__": null}]}', 'x.1.__proto__'],
      ['/api/runs', '{"constructor": {"prototype": {"polluted": true}}}', 'constructor.prototype'],
      [
        '/api/devices/tv-1/block',
        '{"reason": "r", "a": {"constructor": {"prototype": 1}}}',
        'a.constructor.prototype',
      ],
    ];
    for (const [url, payload, field] of cases) {
      const { status, json } = await answer(app, postJson(url, payload));
      expect([payload, status, json['field']]).toEqual([payload, 400, field]);
      expect(json['error']).toMatch(
        field.endsWith('__proto__')
          ? new RegExp(`^${field.replace(/\./g, '\\.')}: a "__proto__" key is not accepted in a JSON body`)
          : /: a "constructor" object with a "prototype" key is not accepted in a JSON body/,
      );
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
    // A constructor that is no object, or whose object has no prototype key, is an ordinary key.
    const plain = await answer(app, postJson('/api/runs', '{"constructor": "x"}'));
    expect([plain.status, plain.json['field']]).toEqual([400, 'constructor']);
    expect(plain.json['error']).toMatch(/Unrecognized key/);
    // Deeply nested, no stack is needed to look; malformed and empty bodies answer as before.
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect((await answer(app, postJson('/api/runs', deep))).json).toMatchObject({ field: 'body' });
    expect((await answer(app, postJson('/api/runs', '{"query":'))).json).toEqual({
      error: "Body is not valid JSON but content-type is set to 'application/json'",
      field: 'body',
    });
    expect((await answer(app, postJson('/api/runs', ''))).json).toMatchObject({ field: 'body' });
  });

  it('raw bytes are parsed by the artifact upload alone: a 415 elsewhere', async () => {
    const app = stubApi({ devices: devicesOf([DEVICE]) });
    for (const url of ['/api/runs', '/api/runs/preview', '/api/devices/tv-1/block']) {
      const res = await answer(app, {
        method: 'POST',
        url,
        headers: { 'content-type': 'application/octet-stream' },
        payload: Buffer.from('{}'),
      });
      expect([url, res.status, res.json['field']]).toEqual([url, 415, 'content-type']);
    }
  });
});
