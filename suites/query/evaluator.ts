import type { CompareOp, FieldRef, QueryNode, QueryValue } from './ast.ts';
import { QueryError } from './errors.ts';
import {
  type FieldArgs,
  type FieldDef,
  type FieldRegistry,
  lookupField,
  suggestableFieldNames,
} from './field-registry.ts';
import type { HistoryScope, TestHistoryAccessor } from './history.ts';
import { suggest } from './suggestions.ts';
import { MatcherProblem, type ValueMatcher, valueMatcher } from './value-matchers.ts';

export type Predicate<T> = (entity: T) => boolean;

export interface EvaluatorOptions {
  /** Source of `flaky`, `last_verdict`, `failrate`, `failed_in_last`; without it those fields read as absent. */
  history?: TestHistoryAccessor;
}

/**
 * Turns an AST into one closure per node, so that a query is checked (fields, values, operators) once
 * and filtering runs no parsing or lookups. Compile errors are QueryErrors positioned in `source`.
 */
export function compileAst<T>(
  source: string,
  ast: QueryNode,
  registry: FieldRegistry<T>,
  options: EvaluatorOptions = {},
): Predicate<T> {
  const compile = (node: QueryNode): Predicate<T> => {
    switch (node.kind) {
      case 'all':
        return () => true;
      case 'and':
      case 'or':
        return combine(node.kind, flatten(node, node.kind).map(compile));
      case 'not': {
        const operand = compile(node.operand);
        return (e) => !operand(e);
      }
      case 'compare':
        return compileCompare(source, registry, options, node.field, node.op, node.value);
      case 'in': {
        const alternatives = node.values.map((v) =>
          compileCompare(source, registry, options, node.field, ':', v),
        );
        return (e) => alternatives.some((p) => p(e));
      }
    }
  };
  const predicate = compile(ast);
  // Odd data (a history accessor that throws, a hand-built record) must fail the match, not the filter.
  return (entity) => {
    try {
      return predicate(entity);
    } catch {
      return false;
    }
  };
}

/** `a and b and c` as [a, b, c], without recursion: a long chain must not overflow the stack. */
function flatten(node: QueryNode, kind: 'and' | 'or'): QueryNode[] {
  const parts: QueryNode[] = [];
  const stack: QueryNode[] = [node];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (current.kind === kind) stack.push(current.right, current.left);
    else parts.push(current);
  }
  return parts;
}

function combine<T>(kind: 'and' | 'or', parts: Predicate<T>[]): Predicate<T> {
  const [first, second] = parts;
  if (parts.length === 2 && first !== undefined && second !== undefined) {
    return kind === 'and' ? (e) => first(e) && second(e) : (e) => first(e) || second(e);
  }
  if (kind === 'and') {
    return (e) => {
      for (const p of parts) if (!p(e)) return false;
      return true;
    };
  }
  return (e) => {
    for (const p of parts) if (p(e)) return true;
    return false;
  };
}

function resolveField<T>(source: string, registry: FieldRegistry<T>, ref: FieldRef): FieldDef<T> {
  const def = lookupField(registry, ref.name);
  if (def !== undefined) return def;
  const names = suggestableFieldNames(registry);
  throw new QueryError(source, `unknown ${registry.target} field \`${ref.name}\``, spanOfName(ref), {
    suggestion: suggest(ref.name, names),
  });
}

function spanOfName(ref: FieldRef): { offset: number; length: number } {
  return { offset: ref.span.offset, length: ref.name.length };
}

function resolveScope<T>(source: string, def: FieldDef<T>, ref: FieldRef): HistoryScope {
  const scope: HistoryScope = {};
  if (ref.scope.length === 0) return scope;
  const keys = def.scopeKeys ?? [];
  for (const item of ref.scope) {
    if (keys.length === 0) {
      throw new QueryError(source, `field \`${def.name}\` takes no [scope]`, item.span);
    }
    const key = keys.find((k) => k === item.key.toLowerCase());
    if (key === undefined) {
      throw new QueryError(
        source,
        `unknown scope \`${item.key}\` for \`${def.name}\` (one of ${keys.join(', ')})`,
        { offset: item.span.offset, length: item.key.length },
        { suggestion: suggest(item.key, keys) },
      );
    }
    if (item.value.kind === 'regex') {
      throw new QueryError(source, 'a scope takes a plain value, not a regex', item.value.span);
    }
    scope[key as keyof HistoryScope] = item.value.text;
  }
  return scope;
}

function compileCompare<T>(
  source: string,
  registry: FieldRegistry<T>,
  options: EvaluatorOptions,
  ref: FieldRef,
  op: CompareOp,
  value: QueryValue,
): Predicate<T> {
  const def = resolveField(source, registry, ref);
  const args: FieldArgs = { scope: resolveScope(source, def, ref), history: options.history };
  if (def.kind === 'custom') {
    const compiled = def.compile(op, value, args);
    if (typeof compiled === 'string') throw new QueryError(source, compiled, value.span);
    return compiled;
  }
  const matcher = valueMatcher(def.kind, op === '!=' ? '=' : op, value, def.drmSystem);
  if (matcher instanceof MatcherProblem) {
    throw new QueryError(source, `${def.name}: ${matcher.message}`, value.span, {
      suggestion: matcher.suggestion,
    });
  }
  const read = def.read;
  const test: Predicate<T> =
    def.kind === 'list' ? (e) => anyElement(read(e, args), matcher) : (e) => matcher(read(e, args));
  return op === '!=' ? (e) => !test(e) : test;
}

function anyElement(list: unknown, matcher: ValueMatcher): boolean {
  if (!Array.isArray(list)) return false;
  for (const item of list) if (matcher(item)) return true;
  return false;
}
