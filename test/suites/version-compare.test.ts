import { describe, expect, it } from 'vitest';
import { compareVersions } from '../../suites/query/version-compare.ts';

describe('compareVersions', () => {
  it.each([
    ['6.5', '6.10', -1],
    ['6.10', '6.5', 1],
    ['6.5', '6.5', 0],
    ['T-KTMAKUC-1250.5', 'T-KTMAKUC-1300.1', -1],
    ['T-KTMAKUC-1250.10', 'T-KTMAKUC-1250.9', 1],
    ['1.0.0-beta.1', '1.0.0', -1],
    ['2.0.0', '10.0.0', -1],
    ['6.5', '6.5.1', -1],
  ] as const)('%s vs %s is %d', (a, b, expected) => {
    expect(Math.sign(compareVersions(a, b))).toBe(expected);
  });

  it('is a total order on text without digits', () => {
    expect(compareVersions('alpha', 'beta')).toBe(-1);
    expect(compareVersions('beta', 'alpha')).toBe(1);
  });
});
