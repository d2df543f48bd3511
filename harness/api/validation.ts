import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { RequestError } from '../errors.ts';

/** The part of a request a route schema validates (Fastify's `httpPart`). */
type Part = string | undefined;

/** What an issue at the root of a part is about: the body, the query string, the path or the headers. */
const ROOT_OF_PART: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'headers',
};

/** A header's name as it is written (`Idempotency-Key`); Node hands them over in lower case. */
export function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * The first issue of a failed validation as a 400 naming the field: its path (`options.retries`), an
 * unknown key by name (`colour`, `options.colour`), a header by its written name, else the part itself.
 */
export function requestErrorOf(error: z.ZodError, part: Part): RequestError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(issue.keys.join(','));
  if (part === 'headers' && path.length > 0) path[0] = headerName(path[0]!);
  const field = path.join('.') || ROOT_OF_PART[part ?? 'body'] || 'request';
  return new RequestError(field, `${field}: ${issue.message}`);
}

/**
 * Fastify's validator compiler for the routes' zod schemas: the parsed value (defaults applied, strings
 * trimmed) replaces the request's part, and a failure is a RequestError, which the API's error handler
 * answers like every other 400 (`{ error, field }`).
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data: unknown) => {
    const parsed = schema.safeParse(data);
    return parsed.success ? { value: parsed.data } : { error: requestErrorOf(parsed.error, httpPart) };
  };
