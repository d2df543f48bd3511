import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_STATES } from '../../devices/device.ts';
import { deviceActionSchema } from '../../harness/api/schemas.ts';
import { redisUp, requireService } from '../support/services.ts';
import {
  AGENT_TOKEN,
  brokenJson,
  contentType,
  type FuzzApi,
  closeAndExpectNoKeys,
  send,
  startFuzzApi,
} from './fuzz-api.ts';
import { applyTreeEdits, FUZZ_LIMITS, treeEdit } from './yaml-fuzz.ts';

const ACTIONS = ['block', 'unblock', 'drain'] as const;

/** Path segments: the real device, near misses, dot segments (they leave the route) and unicode. */
const deviceId = (real: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(real) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `${real} `,
        real.toUpperCase(),
        '..',
        '.',
        '%00',
        'fuzz-box-2',
        '__proto__',
        'caf\u00e9',
        '\u{1F4FA}',
      ),
    },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  );

const reasonBody = fc.record(
  { reason: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { requiredKeys: [] },
);

describe(
  'device and artifact API fuzzing (fast-check, real Redis and SQLite file)',
  FUZZ_LIMITS,
  async () => {
    const up = await requireService('Redis', redisUp);
    let api: FuzzApi;
    let runId: string;
    let jobId: string;

    beforeAll(async () => {
      if (!up) return;
      api = await startFuzzApi();
      const created = await send(api.app, {
        method: 'POST',
        url: '/api/runs',
        headers: { 'content-type': 'application/json' },
        payload: '{"query": "tag:smoke"}',
      });
      expect(created.status).toBe(201);
      runId = String(created.json['id']);
      jobId = String((created.json['jobs'] as { id: string }[])[0]!.id);
    });
    afterAll(async () => {
      // Nothing of this file's prefix is left in Redis.
      if (api) await closeAndExpectNoKeys(api);
    });

    it.skipIf(!up)(
      'POST /api/devices/:id/block|unblock|drain: 200 with the device, else 400/404/409',
      async () => {
        const real = api.inventory[0]!.id;
        const statuses = new Map<number, number>();
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...ACTIONS),
            deviceId(real),
            fc.oneof(
              { weight: 3, arbitrary: reasonBody.map((b) => JSON.stringify(b)) },
              {
                weight: 2,
                arbitrary: fc
                  .tuple(reasonBody, fc.array(treeEdit, { minLength: 1, maxLength: 2 }))
                  .map(([b, edits]) => JSON.stringify(applyTreeEdits(b, edits))),
              },
              { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
              { weight: 1, arbitrary: brokenJson(reasonBody) },
            ),
            fc.oneof(
              { weight: 4, arbitrary: fc.constant('application/json') },
              { weight: 1, arbitrary: contentType },
            ),
            async (action, id, payload, type) => {
              const { status, json } = await send(api.app, {
                method: 'POST',
                url: `/api/devices/${encodeURIComponent(id)}/${action}`,
                ...(type === undefined ? {} : { headers: { 'content-type': type } }),
                payload,
              });
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              let body: unknown;
              try {
                body = JSON.parse(payload);
              } catch {
                body = undefined;
              }
              const validJson = type === 'application/json' && body !== undefined;
              if (id === '.' || id === '..') {
                // `/api/devices/../block` is `/api/block`: no such route (a 404, or the body's 400/415 first).
                expect([400, 404, 415]).toContain(status);
              } else if (validJson && !deviceActionSchema.safeParse(body ?? {}).success) {
                expect(status).toBe(400);
                expect(typeof json['field']).toBe('string');
              } else if (validJson && id !== real) {
                expect(status).toBe(404);
              } else if (validJson) {
                expect([200, 409]).toContain(status);
                if (status === 200) {
                  expect(json['id']).toBe(real);
                  expect(DEVICE_STATES).toContain(json['state']);
                } else expect(json['field']).toBe('state');
              }
            },
          ),
          { numRuns: 10_000 },
        );
        // Each of the answers the oracle predicts was reached.
        for (const status of [200, 400, 404, 409])
          expect(statuses.get(status) ?? 0, String(status)).toBeGreaterThan(0);
        const { status, json } = await send(api.app, { method: 'GET', url: '/api/devices' });
        expect(status).toBe(200);
        expect(json).toHaveLength(1);
      },
    );

    it.skipIf(!up)('regressions: repeated query parameters and the longest id and name', async () => {
      const upload = (id: string, query: string) =>
        send(api.app, {
          method: 'PUT',
          url: `/internal/artifacts/${id}?${query}`,
          headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${AGENT_TOKEN}` },
          payload: Buffer.from('x'),
        });
      const ok = `run=${runId}&job=${jobId}&attempt=1`;
      // A repeated parameter arrives as an array: it was a 500 from SQLite or from the name cleaner.
      const twice = await upload('ab12cd34', `${ok}&name=a&name=b`);
      expect([twice.status, twice.json['field']]).toEqual([400, 'name']);
      expect(twice.json['error']).toBe('name: give this query parameter once');
      const jobTwice = await upload('ab12cd34', `run=${runId}&job=${jobId}&job=${jobId}&attempt=1&name=a`);
      expect([jobTwice.status, jobTwice.json['field']]).toEqual([400, 'job']);
      // The longest id the route accepts with the longest name the store keeps still fits a file name
      // (ids up to 64 hex digits were accepted, and 65 + 200 bytes of name was ENAMETOOLONG, a 500).
      const tooLong = await upload('f'.repeat(41), `${ok}&name=x`);
      expect([tooLong.status, tooLong.json['field']]).toEqual([400, 'id']);
      const id = 'f'.repeat(40);
      const long = await upload(id, `${ok}&name=${encodeURIComponent('\u4e2d'.repeat(120))}`);
      expect(long.status, JSON.stringify(long.json)).toBe(201);
      expect((await api.app.inject({ method: 'GET', url: `/api/artifacts/${id}` })).statusCode).toBe(200);
      const list = await send(api.app, { method: 'GET', url: '/api/runs?partner=a&partner=b' });
      expect([list.status, list.json['field']]).toEqual([400, 'partner']);
    });

    it.skipIf(!up)('PUT /internal/artifacts/:id: 201 for a well-formed upload, else a 4xx', async () => {
      const hexId = fc.stringMatching(/^[a-f0-9]{8,64}$/);
      const param = (real: string) =>
        fc.oneof(
          { weight: 4, arbitrary: fc.constant([real]) },
          { weight: 1, arbitrary: fc.constant([] as string[]) },
          { weight: 1, arbitrary: fc.constant([real, real]) },
          {
            weight: 1,
            arbitrary: fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), {
              minLength: 1,
              maxLength: 2,
            }),
          },
        );
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            id: fc.oneof(
              { weight: 4, arbitrary: hexId },
              { weight: 1, arbitrary: fc.string({ maxLength: 70 }) },
            ),
            run: param(runId),
            job: param(jobId),
            attempt: fc.oneof(
              { weight: 4, arbitrary: fc.constant(['1']) },
              {
                weight: 1,
                arbitrary: fc.array(fc.constantFrom('0', '-1', '1.5', 'x', '1e400', '', '2'), {
                  maxLength: 2,
                }),
              },
            ),
            name: fc.oneof(
              { weight: 2, arbitrary: fc.constant(['log.txt']) },
              {
                weight: 2,
                arbitrary: fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), {
                  minLength: 1,
                  maxLength: 2,
                }),
              },
              {
                weight: 1,
                arbitrary: fc.constantFrom(
                  [] as string[],
                  ['../../etc/passwd'],
                  ['.'],
                  ['a/b\\c'],
                  ['\u0000'],
                  ['\u00e9'.repeat(120)],
                  ['\u{1F4FA}'.repeat(100)],
                  ['\u4e2d'.repeat(120)],
                ),
              },
              // Long names: a file name has at most 255 bytes, and unicode takes several per character.
              {
                weight: 1,
                arbitrary: fc.string({ unit: 'grapheme', minLength: 60, maxLength: 200 }).map((n) => [n]),
              },
            ),
            auth: fc.constantFrom(
              `Bearer ${AGENT_TOKEN}`,
              `Bearer ${AGENT_TOKEN}`,
              `Bearer ${AGENT_TOKEN}`,
              undefined,
              'Bearer x',
              AGENT_TOKEN,
            ),
            type: fc.oneof(
              { weight: 4, arbitrary: fc.constant('application/octet-stream') },
              { weight: 1, arbitrary: contentType },
            ),
            artifactType: fc.option(
              fc.string({ maxLength: 200 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
              { nil: undefined },
            ),
            data: fc.uint8Array({ maxLength: 64 }),
          }),
          async (u) => {
            const search = new URLSearchParams();
            const params: [string, readonly string[]][] = [
              ['run', u.run],
              ['job', u.job],
              ['attempt', u.attempt],
              ['name', u.name],
            ];
            for (const [key, values] of params) for (const value of values) search.append(key, value);
            const headers: Record<string, string> = {};
            if (u.type !== undefined) headers['content-type'] = u.type;
            if (u.auth !== undefined) headers['authorization'] = u.auth;
            if (u.artifactType !== undefined) headers['x-artifact-type'] = u.artifactType;
            const { status, json } = await send(api.app, {
              method: 'PUT',
              url: `/internal/artifacts/${encodeURIComponent(u.id)}?${search}`,
              headers,
              payload: Buffer.from(u.data),
            });
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            const wellFormed =
              u.auth === `Bearer ${AGENT_TOKEN}` &&
              u.type === 'application/octet-stream' &&
              /^[a-f0-9]{8,40}$/.test(u.id) &&
              u.run.length === 1 &&
              u.run[0] === runId &&
              u.job.length === 1 &&
              u.job[0] === jobId &&
              u.attempt.length === 1 &&
              Number.isInteger(Number(u.attempt[0])) &&
              Number(u.attempt[0]) >= 1 &&
              u.name.length === 1;
            if (wellFormed) {
              expect(status, JSON.stringify(json)).toBe(201);
              expect(json['id']).toBe(u.id);
              const row = api.store.artifacts.get(u.id)!;
              // Idempotent by id: the first upload of an id is the one kept.
              if (row.size === u.data.length && row.name === u.name[0]) {
                const res = await api.app.inject({ method: 'GET', url: `/api/artifacts/${u.id}` });
                expect(res.statusCode).toBe(200);
              }
            } else expect(status).toBeGreaterThanOrEqual(400);
          },
        ),
        { numRuns: 10_000 },
      );
      for (const status of [201, 400, 401, 404])
        expect(statuses.get(status) ?? 0, String(status)).toBeGreaterThan(0);
    });
  },
);
