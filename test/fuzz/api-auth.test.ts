import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUp, requireService } from '../support/services.ts';
import { type FuzzApi, closeAndExpectNoKeys, send, startFuzzApi } from './fuzz-api.ts';
import { FUZZ_LIMITS } from './yaml-fuzz.ts';

/** The auth hook's default: failed token checks per client address and minute before a 429. */
const FAILURES_PER_MINUTE = 20;

type Who = 'none' | 'partner' | 'admin' | 'revoked' | 'unknown' | 'malformed';

interface Route {
  method: 'GET' | 'POST';
  url: string;
  payload?: string;
  /** The answer with auth off the table: by who asks (a live token), or for a public path. */
  expected(who: 'partner' | 'admin'): number[];
  public?: boolean;
}

const ROUTES: Route[] = [
  { method: 'GET', url: '/api/health', expected: () => [200], public: true },
  { method: 'GET', url: '/api/openapi.json', expected: () => [200], public: true },
  { method: 'GET', url: '/api/runs', expected: () => [200] },
  { method: 'GET', url: '/api/runs?partner=acme', expected: () => [200] },
  { method: 'GET', url: '/api/devices', expected: () => [200] },
  { method: 'GET', url: '/api/runs/run-none', expected: () => [404] },
  // A query that selects no test: the route's own answer is a 422 saying so (nothing is queued).
  { method: 'POST', url: '/api/runs', payload: '{"query": "tag:none"}', expected: () => [422] },
  {
    method: 'POST',
    url: '/api/runs',
    payload: '{"query": "tag:none", "partner": "globex"}',
    // A partner token submits for its own partner only.
    expected: (who) => (who === 'admin' ? [422] : [400]),
  },
  {
    method: 'POST',
    url: '/api/devices/fuzz-box-1/drain',
    payload: '{"reason": "fuzz"}',
    expected: (who) => (who === 'admin' ? [200, 409] : [403]),
  },
  {
    method: 'POST',
    url: '/api/devices/fuzz-box-1/unblock',
    payload: '{"reason": "fuzz"}',
    expected: (who) => (who === 'admin' ? [200, 409] : [403]),
  },
];

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});

describe(
  'bearer token fuzzing on the HTTP API (fast-check, real Redis and SQLite file)',
  FUZZ_LIMITS,
  async () => {
    const up = await requireService('Redis', redisUp);
    let api: FuzzApi;
    let partner: string;
    let admin: string;
    let revoked: string;

    beforeAll(async () => {
      if (!up) return;
      api = await startFuzzApi({ auth: true });
      partner = api.tokens.create('acme').token;
      admin = api.tokens.create('ops', 'admin').token;
      const gone = api.tokens.create('acme');
      api.tokens.revoke(gone.id);
      revoked = gone.token;
    });
    afterAll(async () => {
      // Nothing of this file's prefix is left in Redis.
      if (api) await closeAndExpectNoKeys(api);
    });

    it.skipIf(!up)(
      'any Authorization header: 401/429 unless a live token, then the route’s own answer',
      async () => {
        /** Failed token checks per client address, as the auth hook should have counted them. */
        const failures = new Map<string, number>();
        const statuses = new Map<number, number>();
        const header = fc.oneof(
          fc.constant({ who: 'none' as Who, value: undefined }),
          fc
            .tuple(
              fc.constantFrom<Who>('partner', 'admin', 'revoked'),
              fc.constantFrom('Bearer ', 'bearer ', 'BEARER \t'),
            )
            .map(([who, scheme]) => ({ who, value: `${scheme}${token(who)}` })),
          fc
            .tuple(
              fc.constantFrom<Who>('partner', 'admin'),
              fc.constantFrom('Basic ', 'Bearer', 'Token ', ''),
              fc.constantFrom('', ' x', 'x'),
            )
            .map(([who, scheme, tail]) => ({
              who: 'malformed' as Who,
              value: `${scheme}${token(who)}${tail}`,
            })),
          fc.tuple(fc.constantFrom('Bearer ', 'Bearer  ', ''), printable).map(([scheme, junk]) => ({
            who: (/^Bearer\s+\S+\s*$/i.test(`${scheme}${junk}`) ? 'unknown' : 'malformed') as Who,
            value: `${scheme}${junk}`,
          })),
        );
        await fc.assert(
          fc.asyncProperty(
            header,
            fc.constantFrom(...ROUTES),
            // A few addresses that run into the throttle, and many that stay under it.
            fc.oneof(
              { weight: 1, arbitrary: fc.constantFrom('127.0.0.1', '::1', '192.0.2.7') },
              {
                weight: 4,
                arbitrary: fc
                  .tuple(fc.nat(255), fc.nat(255), fc.nat(255))
                  .map(([a, b, c]) => `10.${a}.${b}.${c}`),
              },
            ),
            async ({ who, value }, route, ip) => {
              const { status, json } = await send(api.app, {
                method: route.method,
                url: route.url,
                remoteAddress: ip,
                headers: {
                  ...(value === undefined ? {} : { authorization: value }),
                  ...(route.payload === undefined ? {} : { 'content-type': 'application/json' }),
                },
                ...(route.payload === undefined ? {} : { payload: route.payload }),
              });
              statuses.set(status, (statuses.get(status) ?? 0) + 1);
              const failed = failures.get(ip) ?? 0;
              if (route.public) {
                expect(status).toBe(200);
                return;
              }
              if (status === 429) {
                // Throttled only after the limit of failures from this very address.
                expect(failed).toBeGreaterThanOrEqual(FAILURES_PER_MINUTE);
                expect(json['field']).toBe('authorization');
                return;
              }
              if (who === 'partner' || who === 'admin') {
                expect(route.expected(who), `${route.method} ${route.url} as ${who}`).toContain(status);
                return;
              }
              expect(status, `${who}: ${JSON.stringify(value)}`).toBe(401);
              expect(json['field']).toBe('authorization');
              if (who !== 'none') failures.set(ip, failed + 1);
            },
          ),
          { numRuns: 10_000 },
        );
        // Every kind of answer was reached: public, the routes' own, unauthenticated and throttled.
        for (const status of [200, 401, 403, 422, 429])
          expect(statuses.get(status) ?? 0, String(status)).toBeGreaterThan(0);
      },
    );

    function token(who: Who): string {
      return who === 'partner' ? partner : who === 'admin' ? admin : revoked;
    }
  },
);
