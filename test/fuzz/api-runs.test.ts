import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runViewSchema } from '../../harness/api/schemas.ts';
import { PRIORITY_CLASSES, runRequestSchema } from '../../harness/protocol/run-request.ts';
import { compileDeviceQuery, compileTestQuery } from '../../suites/query/query.ts';
import { redisUp, requireService } from '../support/services.ts';
import {
  brokenJson,
  contentType,
  type FuzzApi,
  closeAndExpectNoKeys,
  send,
  startFuzzApi,
} from './fuzz-api.ts';
import { applyTreeEdits, FUZZ_LIMITS, treeEdit } from './yaml-fuzz.ts';

const QUERIES = [
  '',
  'tag:smoke',
  'tag:playback and requires.codecs:hevc',
  'component in [player, platform-boot] or priority>=2',
  'id:fuzz.* and not flaky:true',
  'failrate[model=fuzz-box]>0.2 or failed_in_last:3',
  'last_verdict!=passed',
  'tag:none-such',
];
const SELECTORS = [
  '',
  'caps.codecs:hevc',
  'caps.resolution>=1080p and state=available',
  'platform:linux and firmware>=1.0',
  'driver:appium',
  'caps.drm.widevine>=L1 or tag:fuzz',
];

/** Request bodies the schema accepts, optional fields left out at random. */
const validBody = fc.record(
  {
    query: fc.constantFrom(...QUERIES),
    select: fc.constantFrom(...SELECTORS),
    build: fc.string({ minLength: 1, maxLength: 40 }),
    partner: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/),
    priority: fc.constantFrom(...PRIORITY_CLASSES),
    options: fc.record(
      {
        retries: fc.integer({ min: 0, max: 10 }),
        maxParallel: fc.integer({ min: 1, max: 10_000 }),
        budgetS: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
        ordering: fc.constantFrom('risk', 'fifo', 'duration'),
        changedComponents: fc.array(fc.constantFrom('player', 'platform-boot', 'x'), { maxLength: 3 }),
        infraRetries: fc.integer({ min: 0, max: 10 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

/** Whether the API must accept the body: the schema passes and both queries compile. */
function acceptable(body: unknown): boolean {
  const parsed = runRequestSchema.safeParse(body ?? {});
  if (!parsed.success) return false;
  try {
    compileTestQuery(parsed.data.query);
    compileDeviceQuery(parsed.data.select);
    return true;
  } catch {
    return false;
  }
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? NOT_JSON : (JSON.parse(text) as unknown);
  } catch {
    return NOT_JSON;
  }
}

describe('POST /api/runs fuzzing (fast-check, real Redis and SQLite file)', FUZZ_LIMITS, async () => {
  const up = await requireService('Redis', redisUp);
  let api: FuzzApi;

  beforeAll(async () => {
    if (up) api = await startFuzzApi();
  });
  afterAll(async () => {
    // Nothing of this file's prefix is left in Redis.
    if (api) await closeAndExpectNoKeys(api);
  });

  /** An acceptable body whose query selects no test of the fuzz catalog (no history: nothing has run). */
  const selectsNothing = (body: unknown): boolean =>
    api.catalog.select(runRequestSchema.parse(body ?? {}).query).length === 0;
  /** An acceptable body whose selector matches no device, whatever its state (no state set: available). */
  const selectsNoDevice = (body: unknown): boolean => {
    const matches = compileDeviceQuery(runRequestSchema.parse(body ?? {}).select);
    return !api.inventory.some((d) => matches({ ...d, state: 'available' }));
  };

  const post = (payload: string | undefined, type: string | undefined) =>
    send(api.app, {
      method: 'POST',
      url: '/api/runs',
      ...(type === undefined ? {} : { headers: { 'content-type': type } }),
      ...(payload === undefined ? {} : { payload }),
    });

  it.skipIf(!up)(
    'valid and mutated bodies: 201 with the run when acceptable (422 when its query or selector matches nothing), else a 400 naming the field',
    async () => {
      const seen = { created: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(validBody, fc.array(treeEdit, { maxLength: 3 }), async (valid, edits) => {
          const body = edits.length === 0 ? valid : applyTreeEdits(valid, edits);
          const { status, json } = await post(JSON.stringify(body), 'application/json');
          if (acceptable(body) && selectsNothing(body)) {
            expect(status, JSON.stringify({ body, json })).toBe(422);
            expect(json['field']).toBe('query');
            seen.refused++;
          } else if (acceptable(body) && selectsNoDevice(body)) {
            expect(status, JSON.stringify({ body, json })).toBe(422);
            expect(json['field']).toBe('select');
            seen.refused++;
          } else if (acceptable(body)) {
            expect(status, JSON.stringify({ body, json })).toBe(201);
            expect(runViewSchema.safeParse(json).success).toBe(true);
            // Two tests and one device: a run never plans more than two jobs.
            expect((json['jobs'] as unknown[]).length).toBeLessThanOrEqual(2);
            expect(api.store.runs.get(String(json['id']))).toBeDefined();
            seen.created++;
          } else {
            expect(status, JSON.stringify({ body, json })).toBe(400);
            expect(typeof json['field']).toBe('string');
            seen.refused++;
          }
        }),
        { numRuns: 10_000 },
      );
      expect(seen.created).toBeGreaterThan(1_000);
      expect(seen.refused).toBeGreaterThan(1_000);
    },
  );

  it.skipIf(!up)('random JSON values, broken JSON text and wrong content types: never a 5xx', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
          brokenJson(validBody),
          fc.constant(undefined),
        ),
        contentType,
        async (payload, type) => {
          const { status, json } = await post(payload, type);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 201) expect(runViewSchema.safeParse(json).success).toBe(true);
          else expect(status).toBeGreaterThanOrEqual(400);
          // Plain JSON that parses: exactly the answer the schema and the query compiler call for.
          const body = type === 'application/json' ? parseJson(payload) : NOT_JSON;
          if (body !== NOT_JSON)
            expect(status, `${payload} -> ${JSON.stringify(json)}`).toBe(
              !acceptable(body) ? 400 : selectsNothing(body) ? 422 : 201,
            );
        },
      ),
      { numRuns: 10_000 },
    );
    // Bad JSON (400) and unsupported media types (415) were both reached.
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(statuses.get(415)).toBeGreaterThan(0);
  });

  it.skipIf(!up)('other run routes with random ids and query strings: JSON 2xx or 4xx', async () => {
    const runId = String((await post('{}', 'application/json')).json['id']);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(runId), fc.string({ unit: 'grapheme', maxLength: 20 })),
        fc.constantFrom('', '/results', '/cancel'),
        fc.string({ maxLength: 30 }),
        async (id, suffix, query) => {
          const method = suffix === '/cancel' ? 'POST' : 'GET';
          const url = `/api/runs/${encodeURIComponent(id)}${suffix}?${query}`;
          const { status } = await send(api.app, { method, url });
          if (id !== runId) expect(status).toBe(404);
        },
      ),
      { numRuns: 1_000 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constantFrom('partner=a&partner=b', 'limit=1&limit=2', 'limit=-5', 'limit=1e9', 'partner[]=x'),
        ),
        async (query) => {
          const { status, json } = await send(api.app, { method: 'GET', url: `/api/runs?${query}` });
          // The list, or a 400 for a parameter given twice (it was a 500 from SQLite binding an array).
          if (status === 200) expect(Array.isArray(json)).toBe(true);
          else {
            expect(status).toBe(400);
            expect(['limit', 'partner']).toContain(json['field']);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
