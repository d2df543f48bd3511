import { describe, expect, it } from 'vitest';
import { apfd, apfdc, firstFailure, napfd, type Outcome } from '../../analysis/evaluation/metrics.ts';

const o = (failed: boolean, durationS = 1): Outcome => ({ failed, durationS });

describe('APFD family on hand-computed examples', () => {
  // 4 tests, failures at positions 2 and 3: APFD = 1 - (2+3)/(4*2) + 1/8 = 0.5
  const order = [o(false), o(true), o(true), o(false)];

  it('APFD', () => {
    expect(apfd(order)).toBeCloseTo(0.5);
    expect(apfd([o(true), o(false), o(false), o(false)])).toBeCloseTo(1 - 1 / 4 + 1 / 8);
    expect(apfd([o(false), o(false)])).toBeNull();
  });

  it('NAPFD with a budget of half the tests detects one of two failures', () => {
    // executed: positions 1..2; detected TF = 2; p = 1/2 -> 0.5 - 2/8 + 0.5/8 = 0.3125
    expect(napfd(order, 0.5, 'tests')).toBeCloseTo(0.3125);
    expect(napfd(order, 1, 'tests')).toBeCloseTo(0.5);
  });

  it('NAPFD by run time', () => {
    const timed = [o(false, 1), o(true, 1), o(true, 8), o(false, 10)];
    // total 20, budget 0.5 -> 10 s: positions 1..3 run (cumulative 10), both detected
    expect(napfd(timed, 0.5, 'time')).toBeCloseTo(1 - 5 / 8 + 1 / 8);
  });

  it('APFDc with durations', () => {
    // t = [1, 2, 3, 4], failure at position 2: (2+3+4 - 1) / (10 * 1) = 0.8
    expect(apfdc([o(false, 1), o(true, 2), o(false, 3), o(false, 4)])).toBeCloseTo(0.8);
    // equal durations reduce to APFD
    expect(apfdc(order)).toBeCloseTo(0.5);
  });

  it('first failure position and time fraction', () => {
    expect(firstFailure([o(false, 1), o(true, 3), o(false, 6)])).toEqual({ position: 2, timeFraction: 0.4 });
    expect(firstFailure([o(false)])).toBeNull();
  });
});
