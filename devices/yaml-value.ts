import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type ToJSOptions,
  visit,
  type YAMLError,
} from 'yaml';

/**
 * Line starts of `text` at every `\n`. The parser's own LineCounter misses the newlines inside multi-line
 * quoted and plain scalars, which shifts the line of everything after them.
 */
export function lineCounterOf(text: string): LineCounter {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  return lc;
}

export type YamlValue = { ok: true; value: unknown } | { ok: false; message: string; offset: number };

/**
 * `doc.toJS()` for a document without syntax errors. What the conversion still rejects (an alias before
 * its anchor, a merge `<<` of a non-map, an alias expansion past `maxAliasCount`) comes back with the
 * offset of the offending node instead of escaping as a bare ReferenceError or Error.
 */
export function yamlValue(doc: Document, options?: ToJSOptions): YamlValue {
  try {
    return { ok: true, value: doc.toJS(options) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, message, offset: failureOffset(doc, message) };
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) ? (range[0] as number) : undefined;
}

function failureOffset(doc: Document, message: string): number {
  const merge = message.startsWith('Merge');
  const unresolved = message.startsWith('Unresolved alias');
  // One pass in document order: an alias refers to the latest anchor of its name before it.
  const anchors = new Map<string, unknown>();
  const resolved = (node: unknown) => (isAlias(node) ? anchors.get(node.source) : node);
  let offset: number | undefined;
  visit(doc, {
    Node(_key, node) {
      if (node.anchor) anchors.set(node.anchor, node);
    },
    Alias(_key, node) {
      // An unresolved alias names no earlier anchor; an over-budget expansion starts at the first alias.
      if (merge || (unresolved && anchors.has(node.source))) return;
      offset = rangeStart(node);
      return visit.BREAK;
    },
    Pair(_key, pair) {
      const key = pair.key;
      const isMergeKey =
        isScalar(key) &&
        (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));
      if (!merge || !isMergeKey) return;
      const source = resolved(pair.value);
      const bad = (isSeq(source) ? source.items : [pair.value]).find((item) => !isMap(resolved(item)));
      if (bad === undefined) return;
      offset = rangeStart(bad) ?? rangeStart(pair.value) ?? rangeStart(key);
      return visit.BREAK;
    },
  });
  return offset ?? rangeStart(doc.contents) ?? 0;
}

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

/**
 * Where a syntax error is: the parser's offset, except for an unclosed flow collection or quoted scalar,
 * which the parser notices only where the next token starts (a line or more late): there, its opening
 * bracket or quote.
 */
export function syntaxErrorOffset(text: string, error: YAMLError): number {
  const at = Math.min(error.pos[0], text.length);
  const unclosed = /end with an? ([\]}])|Missing closing (["'])quote/.exec(error.message);
  const close = unclosed?.[1] ?? unclosed?.[2];
  if (close === undefined) return at;
  const open = close === ']' ? '[' : close === '}' ? '{' : close;
  if (open === close) return Math.max(0, text.lastIndexOf(open, at - 1));
  let depth = 0;
  for (let i = at - 1; i >= 0; i--) {
    if (text[i] === close) depth++;
    else if (text[i] === open && depth-- === 0) return i;
  }
  return at;
}
