import { describe, expect, it } from 'vitest';
import {
  compileDeviceQuery,
  compileTestQuery,
  isQueryError,
  type QueryableDevice,
  type QueryableTest,
} from '../../suites/query/query.ts';
import { MAX_PATTERN_LENGTH } from '../../suites/query/value-matchers.ts';

const test = (title: string): QueryableTest =>
  ({
    id: 'redos.t',
    title,
    tags: ['smoke'],
    component: 'player',
    owner: 'qa',
    priority: 1,
    timeoutMs: 60_000,
    retries: 0,
    requires: {},
  }) as QueryableTest;

const device = (name: string): QueryableDevice =>
  ({
    id: 'tv-1',
    name,
    driver: 'appium',
    model: 'M1',
    platform: 'tizen',
    os: 'tizen',
    firmware: '1',
    tags: [],
    capabilities: { codecs: [], hdr: [], drm: {}, resolution: '1080p', memoryMb: 1024, input: [] },
    host: 'a',
  }) as unknown as QueryableDevice;

const errorOf = (compile: () => unknown): string => {
  try {
    compile();
  } catch (err) {
    if (isQueryError(err)) return err.message;
    throw err;
  }
  return 'no error';
};

describe('queries run in linear time (RE2): no pattern can freeze the control plane', () => {
  // JavaScript's backtracking engine needs ~2^n steps for these on a text without `Z` (13 s at n = 22 on
  // the control plane; n = 40 would take days). RE2 answers in time linear in the text.
  const evil = (n: number) => `/(.|.){1,${n}}Z/`;
  const long = 'a'.repeat(200);

  it('a catastrophic pattern in a test query matches or not, at once', () => {
    expect(compileTestQuery(`title:${evil(40)}`)(test(long))).toBe(false);
    expect(compileTestQuery(`title:${evil(40)}`)(test(`${long}Z`))).toBe(true);
    expect(compileTestQuery('title:*a*a*a*a*a*a*a*a*a*a*a*a*a*a*Z')(test(long))).toBe(false);
  });

  it('and in a device selector', () => {
    expect(compileDeviceQuery(`name:${evil(40)}`)(device(long))).toBe(false);
    expect(compileDeviceQuery('name:*a*a*a*a*a*a*a*a*a*a*a*a*a*a*Z')(device(long))).toBe(false);
  });

  it('what RE2 cannot run (backreferences, lookaround) is a clear query error', () => {
    expect(errorOf(() => compileTestQuery('title:/(a)\\1/'))).toMatch(
      /invalid regex \(RE2 syntax: no backreferences or lookaround\)/,
    );
    expect(errorOf(() => compileDeviceQuery('name:/tv(?=-4k)/'))).toMatch(/RE2 syntax/);
  });

  it('a pattern is bounded in length', () => {
    const pattern = `/${'a'.repeat(MAX_PATTERN_LENGTH + 1)}/`;
    expect(errorOf(() => compileTestQuery(`title:${pattern}`))).toMatch(
      `a pattern is at most ${MAX_PATTERN_LENGTH} characters`,
    );
  });
});
