import { DEVICE_QUERY_FIELDS, type QueryableDevice } from './device-fields.ts';
import { compileAst, type EvaluatorOptions, type Predicate } from './evaluator.ts';
import type { QueryNode } from './ast.ts';
import type { FieldRegistry } from './field-registry.ts';
import { parseQuery } from './parser.ts';
import { type QueryableTest, TEST_QUERY_FIELDS } from './test-fields.ts';

/** Parses and checks a query once; the predicate is then cheap to run per entry. Throws QueryError. */
export function compileQuery<T>(
  source: string,
  registry: FieldRegistry<T>,
  options?: EvaluatorOptions,
): Predicate<T> {
  return compileAst(source, parseQuery(source), registry, options);
}

export function compileTestQuery<T extends QueryableTest>(
  source: string,
  options?: EvaluatorOptions,
): Predicate<T> {
  return compileQuery<QueryableTest>(source, TEST_QUERY_FIELDS, options);
}

export function compileDeviceQuery<T extends QueryableDevice>(source: string): Predicate<T> {
  return compileQuery<QueryableDevice>(source, DEVICE_QUERY_FIELDS);
}

/** Field names a query mentions, lower-cased, aliases unresolved; throws QueryError like compile does. */
export function referencedFields(source: string): string[] {
  const names = new Set<string>();
  const visit = (node: QueryNode): void => {
    if (node.kind === 'and' || node.kind === 'or') {
      visit(node.left);
      visit(node.right);
    } else if (node.kind === 'not') visit(node.operand);
    else if (node.kind === 'compare' || node.kind === 'in') names.add(node.field.name.toLowerCase());
  };
  visit(parseQuery(source));
  return [...names];
}

export function filterTests<T extends QueryableTest>(
  tests: readonly T[],
  source: string,
  options?: EvaluatorOptions,
): T[] {
  const predicate = compileTestQuery<T>(source, options);
  return tests.filter((t) => predicate(t));
}

export function filterDevices<T extends QueryableDevice>(devices: readonly T[], source: string): T[] {
  const predicate = compileDeviceQuery<T>(source);
  return devices.filter((d) => predicate(d));
}

export type { EvaluatorOptions, Predicate } from './evaluator.ts';
export { QueryError, isQueryError } from './errors.ts';
export type { HistoryScope, TestHistoryAccessor } from './history.ts';
export type { QueryableTest } from './test-fields.ts';
export type { QueryableDevice } from './device-fields.ts';
export { compareVersions } from './version-compare.ts';
