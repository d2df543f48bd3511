import type { QueryNode } from './ast.ts';
import { type FieldArgs, type FieldRegistry, lookupField } from './field-registry.ts';
import { parseQuery } from './parser.ts';
import { suggest } from './suggestions.ts';

const NO_HISTORY: FieldArgs = { scope: {}, history: undefined };

/** The `field:value` terms of a query that must hold for an entity to match (not under `not`). */
function requiredTerms(node: QueryNode): Extract<QueryNode, { kind: 'compare' }>[] {
  if (node.kind === 'and' || node.kind === 'or')
    return [...requiredTerms(node.left), ...requiredTerms(node.right)];
  return node.kind === 'compare' ? [node] : [];
}

/** What a term's field reads from each entity, as text: its distinct values across them. */
function valuesOf<T>(read: (entity: T, args: FieldArgs) => unknown, entities: readonly T[]): string[] {
  const values = new Set<string>();
  for (const entity of entities) {
    const value = read(entity, NO_HISTORY);
    for (const item of Array.isArray(value) ? value : [value])
      if (typeof item === 'string' || typeof item === 'number') values.add(String(item));
  }
  return [...values];
}

/**
 * The "did you mean" of a query that selected nothing: its first `field:value` term whose value none of
 * `entities` has, rewritten with the closest value one of them does have (`tag:smoke` for `tag:smok`).
 * Only plain words of text and list fields are looked at: no globs, regexes, numbers or history fields.
 * Undefined when no term looks like a typo, or the query does not parse.
 */
export function suggestTerm<T>(
  source: string,
  registry: FieldRegistry<T>,
  entities: readonly T[],
): string | undefined {
  let ast: QueryNode;
  try {
    ast = parseQuery(source);
  } catch {
    // A query that does not parse was refused with its caret before anything was selected.
    return undefined;
  }
  for (const term of requiredTerms(ast)) {
    if ((term.op !== ':' && term.op !== '=') || term.value.kind !== 'text') continue;
    if (!term.value.quoted && /[*?]/.test(term.value.text)) continue;
    const field = lookupField(registry, term.field.name);
    if (field === undefined || field.kind === 'custom' || field.scopeKeys !== undefined) continue;
    if (field.kind !== 'string' && field.kind !== 'list') continue;
    const values = valuesOf(field.read, entities);
    const written = term.value.text.toLowerCase();
    if (values.some((v) => v.toLowerCase() === written)) continue;
    const guess = suggest(term.value.text, values);
    if (guess === undefined) continue;
    const value = /^[\w.\-/]+$/.test(guess) ? guess : JSON.stringify(guess);
    return `${term.field.name}${term.op}${value}`;
  }
  return undefined;
}

/** `no test matched the query 'tag:smok' (did you mean tag:smoke?)`. */
export function noMatchMessage(
  what: 'test' | 'device',
  source: string,
  suggestion: string | undefined,
): string {
  const named = what === 'test' ? `the query '${source}'` : `the selector '${source}'`;
  return `no ${what} matched ${named}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`;
}
