import { closest, distance } from 'fastest-levenshtein';

/**
 * The candidate the user most likely meant, or undefined when none is close enough to be a typo. One
 * rule for every "did you mean": query fields and values, inventory and manifest keys, test ids.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0 || input.length === 0) return undefined;
  const lower = input.toLowerCase();
  const sameIgnoringCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  // An abbreviation (`prio`, `comp`) is a clearer signal than edit distance.
  if (lower.length >= 3) {
    const extended = candidates.filter((c) => c.toLowerCase().startsWith(lower));
    if (extended.length === 1) return extended[0];
  }
  const best = closest(lower, candidates.map((c) => c.toLowerCase()) as string[]);
  const index = candidates.findIndex((c) => c.toLowerCase() === best);
  // A third of the word may be wrong (at least 2 edits), so `tgas` finds `tags` but `xyz` finds nothing.
  const budget = Math.max(2, Math.floor(input.length / 3));
  return distance(lower, best) <= budget ? candidates[index] : undefined;
}

interface SchemaDef {
  type: string;
  innerType?: SchemaLike;
  in?: SchemaLike;
  shape?: Record<string, SchemaLike>;
  element?: SchemaLike;
  valueType?: SchemaLike;
}
interface SchemaLike {
  _zod: { def: SchemaDef };
}

/** The schema under optional/default/nullable/pipe wrappers. */
function unwrap(schema: SchemaLike): SchemaLike {
  let s = schema;
  for (;;) {
    const def = s._zod.def;
    const inner = def.type === 'pipe' ? def.in : def.innerType;
    if (inner === undefined) return s;
    s = inner;
  }
}

/**
 * The keys a zod object schema accepts at `path` (array indexes and record keys pass through), or none
 * when the path does not lead to an object: the candidates of an unknown key's "did you mean".
 */
export function knownKeysAt(schema: SchemaLike, path: readonly PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const segment of path) {
    const def = s._zod.def;
    const next =
      def.type === 'object'
        ? def.shape?.[String(segment)]
        : def.type === 'array'
          ? def.element
          : def.type === 'record'
            ? def.valueType
            : undefined;
    if (next === undefined) return [];
    s = unwrap(next);
  }
  const shape = s._zod.def.type === 'object' ? s._zod.def.shape : undefined;
  return shape ? Object.keys(shape) : [];
}

/** ` (did you mean model?)` for an unknown key close to one the schema accepts at `path`, else ''. */
export function unknownKeyHint(schema: SchemaLike, path: readonly PropertyKey[], key: string): string {
  const guess = suggest(key, knownKeysAt(schema, path));
  return guess === undefined ? '' : ` (did you mean ${guess}?)`;
}
