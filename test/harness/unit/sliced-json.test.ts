import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { JSON_SLICE, slicedJson } from '../../../harness/api/sliced-json.ts';

describe('slicedJson', () => {
  const item = (i: number) => ({ n: i, reasons: i % 3 ? [] : [`r"${i}`], skip: null });

  for (const count of [0, 1, JSON_SLICE, JSON_SLICE + 1, 3 * JSON_SLICE + 7]) {
    it(`writes the same JSON as JSON.stringify for ${count} items`, async () => {
      const items = Array.from({ length: count }, (_, i) => i);
      const head = { id: 'run-1', unplanned: [{ testId: 't', reasons: ['no "hdr"'] }], budget: null };
      const body = await text(slicedJson(head, 'jobs', items, item));
      expect(body).toBe(JSON.stringify({ ...head, jobs: items.map(item) }));
    });
  }

  it('works with an empty head, and refuses a head that already has the key', async () => {
    expect(JSON.parse(await text(slicedJson({}, 'jobs', [1, 2], (i) => i)))).toEqual({ jobs: [1, 2] });
    expect(() => slicedJson({ jobs: 1 }, 'jobs', [], (i) => i)).toThrow(/already has "jobs"/);
  });

  it('gives the event loop a turn between slices', async () => {
    const items = Array.from({ length: 3 * JSON_SLICE }, (_, i) => i);
    let immediateRan = false;
    const seenAtSliceStart: boolean[] = [];
    const stream = slicedJson({}, 'jobs', items, (i) => {
      if (i % JSON_SLICE === 0) seenAtSliceStart.push(immediateRan);
      return i;
    });
    setImmediate(() => {
      immediateRan = true;
    });
    const body = await text(stream);
    expect(JSON.parse(body).jobs).toHaveLength(3 * JSON_SLICE);
    // The first slice is serialized before anything else runs; the second only after a macrotask ran.
    expect(seenAtSliceStart).toEqual([false, true, true]);
  });
});
