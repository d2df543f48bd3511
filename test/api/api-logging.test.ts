import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { buildApi, REQUEST_ID_HEADER } from '../../harness/api/app.ts';
import type { DevicesProvider } from '../../harness/api/devices-provider.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { type LabHarness, startLabHarness } from '../support/lab-harness.ts';
import { redisUp, requireService } from '../support/services.ts';

// A Redis database of its own, as the other API tests (see ci-examples.test.ts).
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  component?: string;
  method?: string;
  route?: string | null;
  status?: number;
  err?: { type: string; message: string; stack: string };
  [key: string]: unknown;
}

const SECRET = 'dlb_this-token-must-never-be-logged';

/** The devices route over a provider whose Redis read breaks: an unexpected error, a 500. */
const broken: DevicesProvider = {
  list: async () => {
    throw new Error('device states unreadable', { cause: new Error('READONLY You can\u2019t write') });
  },
  block: async () => undefined,
  unblock: async () => undefined,
  drain: async () => undefined,
};

describe('the API logs through the devlab logger (real control plane, Redis and SQLite)', async () => {
  const up = await requireService('Redis', redisUp);
  let lab: LabHarness;
  const written: string[] = [];
  const lines = (): Line[] => written.map((l) => JSON.parse(l) as Line);
  let app: ReturnType<typeof buildApi>;
  let url: string;

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: [],
      tests: [],
      registry: createDriverRegistry({}),
      agentIds: [],
      appUrl: 'http://127.0.0.1:9/',
    });
    // The pino logger `devlab server` hands over, writing to a stream the test reads.
    const logger = pino({ level: 'debug' }, { write: (line: string) => written.push(line) });
    app = buildApi({
      controlPlane: lab.controlPlane,
      artifacts: new ArtifactStore(lab.home, lab.store.artifacts),
      devices: broken,
      logger,
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await lab?.close();
  });

  it.skipIf(!up)(
    'a route that throws answers a bare 500 and logs the cause with the request id, route and method',
    async () => {
      written.length = 0;
      const res = await fetch(`${url}/api/devices?x=1`, {
        headers: {
          authorization: `Bearer ${SECRET}`,
          cookie: `session=${SECRET}`,
          [REQUEST_ID_HEADER]: 'ci-build-42.7',
        },
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'internal error' });
      // The client's id is kept and answered.
      expect(res.headers.get(REQUEST_ID_HEADER)).toBe('ci-build-42.7');

      const errors = lines().filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      const line = errors[0]!;
      expect(line).toMatchObject({
        msg: 'request failed: unexpected error',
        reqId: 'ci-build-42.7',
        component: 'api',
        method: 'GET',
        route: '/api/devices',
        url: '/api/devices',
      });
      expect(line.err?.message).toContain('device states unreadable');
      // The cause travels with it (pino's error serializer), and the stack points at the code that threw.
      expect(JSON.stringify(line.err)).toContain('READONLY');
      expect(line.err?.stack).toMatch(/api-logging\.test\.ts/);
      // Logged once: the answer is not logged a second time.
      expect(lines().filter((l) => l.reqId === 'ci-build-42.7')).toHaveLength(1);
      expect(written.join('')).not.toContain(SECRET);
    },
  );

  it.skipIf(!up)(
    '4xx answers are logged at info, others at debug; every answer has a request id',
    async () => {
      written.length = 0;
      const missing = await fetch(`${url}/api/runs/run-nope`, {
        headers: { authorization: `Bearer ${SECRET}` },
      });
      expect(missing.status).toBe(404);
      const generated = missing.headers.get(REQUEST_ID_HEADER);
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      // A header that does not look like an id (too long, odd characters) is replaced, not logged.
      const odd = await fetch(`${url}/api/health`, { headers: { [REQUEST_ID_HEADER]: 'x'.repeat(300) } });
      expect(odd.status).toBe(200);
      expect(odd.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);

      const refused = lines().find((l) => l.reqId === generated)!;
      expect(refused).toMatchObject({
        level: 30,
        msg: 'request refused',
        status: 404,
        route: '/api/runs/:id',
      });
      const answered = lines().find((l) => l.reqId === odd.headers.get(REQUEST_ID_HEADER))!;
      expect(answered).toMatchObject({ level: 20, msg: 'request answered', status: 200 });
      expect(lines().some((l) => l.level >= 40)).toBe(false);
      expect(written.join('')).not.toContain(SECRET);
      expect(written.join('')).not.toContain('x'.repeat(300));
    },
  );

  it.skipIf(!up)('credentials in anything the API logs are redacted', () => {
    written.length = 0;
    app.log.info(
      { headers: { authorization: `Bearer ${SECRET}`, cookie: SECRET, accept: 'text/plain' }, token: SECRET },
      'a line with credentials',
    );
    // A request object goes through Fastify's request serializer: method and URL, never headers.
    app.log.info({ req: { headers: { authorization: SECRET }, method: 'GET', url: '/x' } }, 'a request');
    const [line, request] = lines();
    expect(line!['headers']).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      accept: 'text/plain',
    });
    expect(line!['token']).toBe('[redacted]');
    expect(request!['req']).toMatchObject({ method: 'GET', url: '/x' });
    expect(written.join('')).not.toContain(SECRET);
  });
});
