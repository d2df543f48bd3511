import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDeviceQuery, compileTestQuery, QueryError } from '../../suites/query/query.ts';
import { DEVICES, HISTORY_ACCESSOR, TESTS } from './fixtures/query-fixtures.ts';

const VALID_QUERIES = [
  'tag:smoke and priority>=2',
  '(component:player or component:auth) and not flaky:true',
  'id in [auth.*, stb.*]',
  'title:/hevc/i or owner:"team-player"',
  'failrate[device=tv-4k-01]>0.2 or failed_in_last:3',
  'requires.minResolution>=1080p and requires.codecs:hevc',
  'requires.hdr:true and last_verdict!=passed',
  'suite:samples/* requires.drivers:appium',
];

const QUERY_CHARS = [...'abcdeflgsmoktpriy01259.*?_-/:=!<>()[],"\' \n\\'];

/** Either a predicate that returns booleans on the fixture, or a QueryError: never anything else. */
function outcome(query: string): 'ok' | 'query-error' {
  let predicate: (t: unknown) => boolean;
  try {
    predicate = compileTestQuery(query, { history: HISTORY_ACCESSOR }) as (t: unknown) => boolean;
  } catch (err) {
    if (err instanceof QueryError) {
      expect(err.line).toBeGreaterThanOrEqual(1);
      expect(err.column).toBeGreaterThanOrEqual(1);
      return 'query-error';
    }
    throw err;
  }
  for (const t of TESTS) expect(typeof predicate(t)).toBe('boolean');
  return 'ok';
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: fc.constantFrom(...QUERY_CHARS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), ch: fc.constant('') }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), ch: fc.constantFrom(...QUERY_CHARS) }),
);

function mutate(
  query: string,
  edits: { kind: 'insert' | 'delete' | 'replace'; at: number; ch: string }[],
): string {
  let out = query;
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % (out.length + 1);
    if (edit.kind === 'insert') out = out.slice(0, at) + edit.ch + out.slice(at);
    else if (edit.kind === 'delete') out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + edit.ch + out.slice(at + 1);
  }
  return out;
}

describe('query robustness (property)', () => {
  it('any string gives a predicate or a QueryError', () => {
    const queryish = fc.array(fc.constantFrom(...QUERY_CHARS), { maxLength: 40 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.oneof(queryish, fc.string({ unit: 'binary', maxLength: 40 })), (q) => {
        outcome(q);
      }),
      { numRuns: 10_000 },
    );
  });

  it('mutated valid queries give a predicate or a QueryError', () => {
    const seen = { ok: 0, 'query-error': 0 };
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID_QUERIES),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (q, edits) => {
          seen[outcome(mutate(q, edits))]++;
        },
      ),
      { numRuns: 10_000 },
    );
    // Both outcomes occur, so the property exercised the parser's success and error paths.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen['query-error']).toBeGreaterThan(0);
  });

  it('valid queries never throw on arbitrary records', () => {
    const predicates = [
      ...VALID_QUERIES.map(
        (q) => compileTestQuery(q, { history: HISTORY_ACCESSOR }) as (x: unknown) => boolean,
      ),
      ...[
        'caps.codecs:hevc and caps.drm.widevine>=L2',
        'os>6.5 or firmware<=1.2',
        'caps.resolution>=1080p',
      ].map((q) => compileDeviceQuery(q) as (x: unknown) => boolean),
    ];
    fc.assert(
      fc.property(fc.anything(), (record) => {
        for (const p of predicates) expect(typeof p(record)).toBe('boolean');
      }),
      { numRuns: 2_000 },
    );
    for (const d of DEVICES) expect(typeof predicates.at(-1)!(d)).toBe('boolean');
  });
});
