import type { ZodError, ZodType } from 'zod';
import { unknownKeyHint } from '../devices/did-you-mean.ts';

/**
 * A test definition whose metadata is wrong: which test, which field (its path, an unknown key included)
 * and why. Discovery turns it into file:line:column by finding the field in the file's source.
 */
export class TestDefinitionError extends Error {
  override readonly name = 'TestDefinitionError';

  constructor(
    /** The id as written, when the definition has one. */
    readonly testId: string | undefined,
    /** Path of the bad field, e.g. ['requires', 'drivrs']; empty for the definition as a whole. */
    readonly field: readonly (string | number)[],
    readonly reason: string,
    /** Which definition of the file, e.g. `default export [1]`; `Invalid test "id"` when absent. */
    where?: string,
  ) {
    super(`${where ?? `Invalid test "${testId ?? '?'}"`}: field ${field.join('.') || '(root)'}: ${reason}`);
  }
}

/** Duck-typed: a test file may import `defineTest` through another copy of this module (a package). */
export function isTestDefinitionError(err: unknown): err is TestDefinitionError {
  const e = err as Partial<TestDefinitionError> | null;
  return e?.name === 'TestDefinitionError' && Array.isArray(e.field);
}

/**
 * The first issue of validating `meta` with `schema` as a TestDefinitionError; an unknown key gets its
 * "did you mean".
 */
export function definitionError(
  meta: unknown,
  schema: ZodType,
  error: ZodError,
  where?: string,
): TestDefinitionError {
  const issue = error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const rawId = (meta as { id?: unknown } | null)?.id;
  const id = typeof rawId === 'string' ? rawId : undefined;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const reason = `unknown field${unknownKeyHint(schema, path, key)}`;
    return new TestDefinitionError(id, [...path, key], reason, where);
  }
  return new TestDefinitionError(id, path, issue.message, where);
}
