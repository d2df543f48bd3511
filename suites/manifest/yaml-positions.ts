import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export interface YamlPosition {
  line: number;
  column: number;
}

/**
 * Where the value at `path` is written; when it is missing, where its nearest parent is. For a bad key
 * (`unrecognized_keys`) pass the key as `key` to point at the key itself.
 */
export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): YamlPosition {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  const segments = key === undefined ? path : [...path, key];
  for (const [index, segment] of segments.entries()) {
    const isLastKey = key !== undefined && index === segments.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (pair === undefined) break;
      const keyStart = rangeStart(pair.key);
      if (isLastKey) {
        offset = keyStart ?? offset;
        break;
      }
      node = pair.value;
      offset = rangeStart(pair.value) ?? keyStart ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      break;
    }
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}
