import { describe, expect, it } from 'vitest';
import { FailureWindow } from '../../harness/auth/failure-window.ts';

describe('the failed-auth sliding window', () => {
  it('blocks a key at the limit and frees it as its failures slide out of the minute', () => {
    let now = 1_000_000;
    const window = new FailureWindow(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(window.blocked('10.0.0.1')).toBe(false);
      window.record('10.0.0.1');
      now += 10_000;
    }
    expect(window.blocked('10.0.0.1')).toBe(true);
    expect(window.blocked('10.0.0.2')).toBe(false);
    // Oldest failure at t0 leaves at t0 + 60 s; it is now t0 + 30 s.
    expect(window.retryAfterS('10.0.0.1')).toBe(30);
    now += 30_000;
    expect(window.blocked('10.0.0.1')).toBe(false);
    window.record('10.0.0.1');
    expect(window.blocked('10.0.0.1')).toBe(true);
  });
});
