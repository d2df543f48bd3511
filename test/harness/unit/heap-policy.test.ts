import { describe, expect, it } from 'vitest';
import { applyHeapPolicy, DEFAULT_HEAP_GROWTH_PERCENT } from '../../../harness/lab/heap-policy.ts';

describe('the control plane heap policy', () => {
  it('applies the default, an override, or none, and names a bad value', () => {
    expect(applyHeapPolicy({})).toBe(DEFAULT_HEAP_GROWTH_PERCENT);
    expect(applyHeapPolicy({ DEVLAB_HEAP_GROWTH_PERCENT: '150' })).toBe(150);
    expect(applyHeapPolicy({ DEVLAB_HEAP_GROWTH_PERCENT: '0' })).toBe(0);
    expect(() => applyHeapPolicy({ DEVLAB_HEAP_GROWTH_PERCENT: 'lots' })).toThrow(
      /DEVLAB_HEAP_GROWTH_PERCENT: expected a whole number 0\.\.1000, got "lots"/,
    );
  });
});
