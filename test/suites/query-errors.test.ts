import { describe, expect, it } from 'vitest';
import { MAX_QUERY_DEPTH } from '../../suites/query/parser.ts';
import { compileDeviceQuery, compileTestQuery, QueryError } from '../../suites/query/query.ts';

function errorOf(compile: () => unknown): QueryError {
  try {
    compile();
  } catch (err) {
    if (err instanceof QueryError) return err;
    throw err;
  }
  throw new Error('expected a QueryError');
}

const testError = (q: string) => errorOf(() => compileTestQuery(q));
const deviceError = (q: string) => errorOf(() => compileDeviceQuery(q));

describe('query errors', () => {
  it('names an unknown field with a suggestion and a caret under it', () => {
    const err = testError('tgas:smoke');
    expect(err.reason).toBe('unknown test field `tgas`');
    expect(err.suggestion).toBe('tags');
    expect([err.line, err.column]).toEqual([1, 1]);
    expect(err.caret).toBe('tgas:smoke\n^^^^');
    expect(err.message).toContain('did you mean `tags`?');
    expect(err.format()).toContain('  tgas:smoke\n  ^^^^');
  });

  it('positions errors on later lines', () => {
    const err = testError('tag:smoke\n  and prority>=2');
    expect([err.line, err.column]).toEqual([2, 7]);
    expect(err.suggestion).toBe('priority');
    expect(err.caret).toBe('  and prority>=2\n      ^^^^^^^');
  });

  it('keeps tabs in the caret indent', () => {
    expect(testError('\ttag:x and\tbogus:1').caret).toBe('\ttag:x and\tbogus:1\n\t         \t^^^^^');
  });

  it('suggests device fields in device queries', () => {
    const err = deviceError('caps.codec:hevc');
    expect(err.suggestion).toBe('caps.codecs');
    expect(err.column).toBe(1);
  });

  it.each([
    ['priority>=', 1, 11, 'expected a value'],
    ['(tag:a or tag:b', 1, 16, 'expected `)`'],
    ['tag:a)', 1, 6, 'unmatched `)`'],
    ['()', 1, 2, 'empty parentheses'],
    ['tag smoke', 1, 5, 'expected an operator after `tag`'],
    ['title:"open', 1, 7, 'unterminated string'],
    ['title:/open', 1, 7, 'unterminated regex'],
    ['title:/a/x', 1, 10, 'unknown regex flags'],
    ['title:/(/', 1, 7, 'invalid regex'],
    ['tag!smoke', 1, 4, 'unexpected `!`'],
    ['and tag:x', 1, 1, 'expected a field name'],
    ['tag:x or', 1, 9, 'expected a field name'],
    ['tags in (a, b)', 1, 9, 'expected `[` after `in`'],
    ['tags in [a b]', 1, 12, 'expected `,` or `]`'],
    ['priority:high', 1, 10, 'expected a number'],
    ['priority:/1/', 1, 10, 'a regex cannot match a number field'],
    ['flaky:maybe', 1, 7, 'expected true or false'],
    ['flaky>true', 1, 7, 'does not apply to a true/false field'],
    ['requires.minResolution>=4k', 1, 25, 'unknown resolution `4k`'],
    ['failed_in_last:0', 1, 16, 'whole number of runs'],
    ['failed_in_last>3', 1, 16, 'takes a run count'],
    ['tags[device=x]:a', 1, 6, 'takes no [scope]'],
    ['failrate[devce=x]>0.1', 1, 10, 'unknown scope `devce`'],
    ['failrate[device=/x/]>0.1', 1, 17, 'a scope takes a plain value'],
  ] as const)('%s → line %d column %d: %s', (query, line, column, reason) => {
    const err = testError(query);
    expect(err.reason).toContain(reason);
    expect([err.line, err.column]).toEqual([line, column]);
    expect(err.caret.split('\n')[1]!.indexOf('^')).toBe(column - 1);
  });

  it('suggests known values for resolutions, booleans and DRM levels', () => {
    expect(testError('requires.minResolution>=1080').suggestion).toBe('1080p');
    expect(testError('flaky:ture').suggestion).toBe('true');
    const drm = deviceError('caps.drm.widevine>=L4');
    expect(drm.reason).toContain('unknown widevine level `L4` (one of L1, L2, L3)');
    expect(deviceError('caps.drm.fairplay>L1').reason).toContain('no known level order');
  });

  it('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    const deep = `${'('.repeat(MAX_QUERY_DEPTH + 1)}tag:a${')'.repeat(MAX_QUERY_DEPTH + 1)}`;
    const err = testError(deep);
    expect(err.reason).toContain(`more than ${MAX_QUERY_DEPTH} levels`);
    expect(err.column).toBe(MAX_QUERY_DEPTH + 1);
    expect(testError(`${'not '.repeat(5000)}tag:a`).reason).toContain('levels');
    const nested = `${'('.repeat(MAX_QUERY_DEPTH - 1)}tag:a${')'.repeat(MAX_QUERY_DEPTH - 1)}`;
    expect(() => compileTestQuery(nested)).not.toThrow();
  });

  it('names the line of an unclosed parenthesis', () => {
    expect(testError('tag:a and\n (tag:b or tag:c').reason).toContain('close the `(` at line 2, column 2');
  });

  it('gives no suggestion when nothing is close', () => {
    expect(testError('zzzzzzzz:1').suggestion).toBeUndefined();
  });
});
