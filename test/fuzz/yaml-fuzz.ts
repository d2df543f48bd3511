import fc from 'fast-check';
import { stringify } from 'yaml';

/**
 * Generators shared by the YAML fuzz tests: text edits of a valid document (YAML syntax characters,
 * anchors, aliases, merge keys, tags, directives), structural edits of its parsed value (dropped fields,
 * wrong types, huge values, unicode, duplicated entries), and YAML-looking token soup.
 */

/**
 * Per-test timeout of the fuzz files. 10,000 cases take under 30 s of CPU, but on a shared host that
 * is busy with other test runs the wall time can be ten times that; slowness must not fail a property.
 */
export const FUZZ_LIMITS = { timeout: 600_000 };

/** Fragments that mean something to a YAML parser; text edits insert them anywhere. */
export const YAML_PIECES = [
  ':',
  ': ',
  '-',
  '- ',
  '\n',
  '\n  ',
  '\n    - ',
  '  ',
  '\t',
  '\r\n',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '#',
  '&a ',
  '*a',
  '&b ',
  '*b',
  '*zz',
  '<<: ',
  '<<: *a',
  '<<: 1',
  '<<: [*a, 3]',
  '!!str ',
  '!!int ',
  '!!float ',
  '!!binary ',
  '!!set ',
  '!!omap ',
  '!!map ',
  '!!seq ',
  '!!timestamp ',
  '!custom ',
  '!<tag:x> ',
  '%YAML 1.1\n---\n',
  '%TAG ! tag:x:\n---\n',
  '---\n',
  '...\n',
  '|',
  '>-',
  '? ',
  '@',
  '`',
  '%',
  '\\',
  '\u0000',
  '\uFEFF',
  '\u00e9',
  '\u{1F4FA}',
  '\uD800',
  'null',
  '~',
  'true',
  '.inf',
  '-.nan',
  '0x1F',
  '0o17',
  '1e400',
  '99999999999999999999999999',
  '-1',
  '0',
  '__proto__',
  'constructor',
  'x'.repeat(2_000),
];

export interface TextEdit {
  kind: 'insert' | 'delete' | 'replace' | 'drop-line' | 'dup-line' | 'truncate';
  at: number;
  len: number;
  text: string;
}

export const textEdit: fc.Arbitrary<TextEdit> = fc.record({
  kind: fc.constantFrom('insert', 'delete', 'replace', 'drop-line', 'dup-line', 'truncate'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 12 }),
  text: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...YAML_PIECES) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  ),
});

/** Applies character and line edits at positions taken modulo the current length. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of edits) {
    const at = e.at % (out.length + 1);
    if (e.kind === 'insert') out = out.slice(0, at) + e.text + out.slice(at);
    else if (e.kind === 'delete') out = out.slice(0, at) + out.slice(at + e.len);
    else if (e.kind === 'replace') out = out.slice(0, at) + e.text + out.slice(at + e.len);
    else if (e.kind === 'truncate') out = out.slice(0, at);
    else {
      const lines = out.split('\n');
      const i = e.at % lines.length;
      if (e.kind === 'drop-line') lines.splice(i, 1);
      else lines.splice(i, 0, lines[i]!);
      out = lines.join('\n');
    }
  }
  return out;
}

/** Values that a schema does not expect: wrong types, huge and odd numbers, unicode, nesting. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 64, Number.MAX_SAFE_INTEGER + 2, -0, 0.5, -1, 0, 3, 512, 1920),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    'x'.repeat(20_000),
    '\u{1F4FA}'.repeat(500),
    'TV-1',
    'tv 1',
    'hevc',
    '1080p',
    '4320p',
    'docker',
    'appium',
    'http://127.0.0.1:4723',
    'not a url',
    '/results',
    'relative/path',
    'devlab/stb-reference:1',
    'Bad Image:tag',
    '*a',
    '<<',
    '__proto__',
  ),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), {
    maxKeys: 3,
  }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Keys an edit may add or rename to: real field names in the wrong place, typos, oddities. */
export const fieldKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'id',
    'name',
    'driver',
    'settings',
    'capabilities',
    'codecs',
    'tags',
    'image',
    'command',
    'env',
    'results',
    'requires',
    'drivers',
    'devices',
    'templates',
    'version',
    'idd',
    'tgas',
    '<<',
    '__proto__',
    'constructor',
    'toString',
    '',
    ' ',
    '1bad-env',
    'GOOD_ENV',
  ),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

export interface TreeEdit {
  kind: 'drop' | 'set' | 'rename' | 'add' | 'dup';
  /** Child choices from the root, each taken modulo the number of children. */
  path: number[];
  key: string;
  value: unknown;
}

export const treeEdit: fc.Arbitrary<TreeEdit> = fc.record({
  kind: fc.constantFrom('drop', 'set', 'rename', 'add', 'dup'),
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  key: fieldKey,
  value: wrongValue,
});

type Container = Record<string, unknown> | unknown[];

const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

/** Applies one structural edit in place at the container the path walks to. */
function applyTreeEdit(root: Container, edit: TreeEdit): void {
  let parent: Container = root;
  let key: string | number | undefined;
  for (const [step, choice] of edit.path.entries()) {
    const keys: (string | number)[] = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent);
    if (keys.length === 0) break;
    key = keys[choice % keys.length]!;
    const child = (parent as Record<string | number, unknown>)[key];
    if (step === edit.path.length - 1 || !isContainer(child)) break;
    parent = child;
    key = undefined;
  }
  const bag = parent as Record<string | number, unknown>;
  if (edit.kind === 'add' || key === undefined) {
    if (Array.isArray(parent)) parent.push(edit.value);
    else
      Object.defineProperty(parent, edit.key, {
        value: edit.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return;
  }
  if (edit.kind === 'set') bag[key] = edit.value;
  else if (edit.kind === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete bag[key];
  } else if (edit.kind === 'rename') {
    const value = bag[key];
    if (Array.isArray(parent)) parent.splice(Number(key), 1, { [edit.key]: value });
    else {
      delete bag[key];
      Object.defineProperty(parent, edit.key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  } else if (Array.isArray(parent)) parent.push(structuredClone(parent[Number(key)]));
  else bag[`${String(key)}2`] = structuredClone(bag[key]);
}

/** A deep copy of `value` with the edits applied (duplicated array items give duplicate ids). */
export function applyTreeEdits<T>(value: T, edits: readonly TreeEdit[]): unknown {
  const root = structuredClone(value) as unknown;
  if (!isContainer(root)) return root;
  for (const edit of edits) applyTreeEdit(root, edit);
  return root;
}

/** YAML text of a value in one of several styles (block, flow, quoted); never throws. */
export function toYaml(value: unknown, style: number): string {
  try {
    if (style % 3 === 1) return stringify(value, { collectionStyle: 'flow' });
    if (style % 3 === 2) return stringify(value, { defaultStringType: 'QUOTE_DOUBLE' });
    return stringify(value);
  } catch {
    return JSON.stringify(value) ?? 'null';
  }
}

/** Token soup: YAML-looking documents assembled from fragments and field names. */
export const yamlishText: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...YAML_PIECES), fieldKey), { maxLength: 40 })
  .map((parts) => parts.join(''));

/** Documents that used to crash YAML loaders: aliases, merges and tags the value conversion rejects. */
export const HOSTILE_YAML = [
  // Unresolved alias.
  'devices:\n  - *nope\n',
  'id: *nope\n',
  // Merge of a scalar (a merge source must be a map).
  'devices: []\n<<: 1\n',
  'devices:\n  - <<: 5\n    id: x\n',
  '%YAML 1.1\n---\n<<: [1, 2]\nid: x\n',
  // Alias expansion bomb (a billion laughs in small).
  `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`,
  // Tags whose values the schema rejects.
  'devices: !!binary aGVsbG8=\n',
  'devices: !!omap [a: 1, a: 2]\n',
  '%YAML 1.1\n---\nid: !!timestamp 2001-12-14\n',
  '? [a, b]\n: 1\n',
  '',
  '\uFEFF',
  '---\n---\n',
];

/**
 * A valid document after 1-5 text edits, or its parsed value after 1-4 structural edits written back in
 * one of several YAML styles.
 */
export function mutatedDocument(validText: string, seedValue: unknown): fc.Arbitrary<string> {
  return fc.oneof(
    fc.array(textEdit, { minLength: 1, maxLength: 5 }).map((edits) => applyTextEdits(validText, edits)),
    fc
      .tuple(fc.array(treeEdit, { minLength: 1, maxLength: 4 }), fc.nat())
      .map(([edits, style]) => toYaml(applyTreeEdits(seedValue, edits), style)),
  );
}

/** Token soup, arbitrary strings, edited hostile documents, and soup spliced into a valid document. */
export function randomDocument(validText: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: yamlishText },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...HOSTILE_YAML), fc.array(textEdit, { maxLength: 3 }))
        .map(([text, edits]) => applyTextEdits(text, edits)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(yamlishText, fc.nat())
        .map(([soup, at]) => applyTextEdits(validText, [{ kind: 'insert', at, len: 1, text: soup }])),
    },
  );
}
