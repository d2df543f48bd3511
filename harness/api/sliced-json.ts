import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';

/** Items of a listed array serialized per turn of the event loop. */
export const JSON_SLICE = 2000;

/**
 * A JSON body `{ ...head, [key]: items.map(toItem) }` as a stream that serializes `items` in slices of
 * JSON_SLICE, one slice per turn of the event loop: a 20,000-job answer (several MB) no longer holds the event loop for
 * one long JSON.stringify, and agents' reports are stored between its slices. Every piece comes from
 * JSON.stringify; only the joins (`,` and the brackets) are written here.
 */
export function slicedJson<T>(
  head: Record<string, unknown>,
  key: string,
  items: readonly T[],
  toItem: (item: T) => unknown,
): Readable {
  if (key in head) throw new Error(`slicedJson: the head already has "${key}"`);
  const opening = JSON.stringify(head);
  const prefix = `${opening.length > 2 ? `${opening.slice(0, -1)},` : '{'}${JSON.stringify(key)}:[`;
  async function* pieces(): AsyncGenerator<string> {
    yield prefix;
    for (let start = 0; start < items.length; start += JSON_SLICE) {
      if (start > 0) await setImmediate();
      const slice = items.slice(start, start + JSON_SLICE).map(toItem);
      const text = JSON.stringify(slice);
      yield `${start > 0 ? ',' : ''}${text.slice(1, -1)}`;
    }
    yield ']}';
  }
  return Readable.from(pieces(), { objectMode: false });
}
