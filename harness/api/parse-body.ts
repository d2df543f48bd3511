import type { z } from 'zod';
import { RequestError } from '../errors.ts';

/** Validates a body with its zod schema; the first issue becomes a 400 naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field =
    issue.path.map(String).join('.') ||
    (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '(body)');
  throw new RequestError(field, `${field}: ${issue.message}`);
}
