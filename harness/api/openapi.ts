import type {
  FastifyDynamicSwaggerOptions,
  SwaggerTransform,
  SwaggerTransformObject,
} from '@fastify/swagger';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema } from './schemas.ts';
import { headerName } from './validation.ts';

/*
 * The OpenAPI document is generated from the routes' own schemas (@fastify/swagger collects the routes,
 * fastify-type-provider-zod turns their zod schemas into JSON Schema): what the document says is what the
 * routes validate and serialize. This module holds the generator's settings and the response helpers the
 * routes declare their answers with.
 */

/** An answer with a description, its content by media type and (for the document) its headers. */
interface Answer<C extends Record<string, { schema: z.ZodType }>> {
  description: string;
  content: C;
  headers?: Record<string, z.ZodType>;
}

/** A JSON answer. Its schema serializes the reply: fields it does not name are not sent. */
export function json<S extends z.ZodType>(
  description: string,
  schema: S,
  headers?: Record<string, z.ZodType>,
): Answer<{ 'application/json': { schema: S } }> {
  return { description, content: { 'application/json': { schema } }, ...(headers ? { headers } : {}) };
}

/** An answer that is not JSON (XML, HTML, an event stream, bytes): sent as it is, never serialized. */
export function raw<T extends string>(description: string, mediaType: T, schema: z.ZodType = z.string()) {
  return { description, content: { [mediaType]: { schema } } as Record<T, { schema: z.ZodType }> };
}

/** Bytes of any content type, in the document. */
export const binary = z.string().meta({ format: 'binary' });

/** The error answers, each `{ error, field?, ... }`; routes pick the ones they can give. */
const ERRORS = {
  400: json('invalid request: `field` names what was wrong', errorSchema),
  401: json('missing, invalid or revoked bearer token', errorSchema),
  403: json('the token may not do this', errorSchema),
  404: json('not found (or another partner\u2019s)', errorSchema),
  409: json('the transition is not allowed from the current state', errorSchema),
  413: json('the body is over the size limit', errorSchema),
  415: json('the content type is not accepted here', errorSchema),
  422: json(
    'the request cannot be carried out as asked (`field`): an idempotency key used with another request, a query or selector that matches nothing, or suites that did not load',
    errorSchema,
  ),
  429: json('too many failed authentication attempts from this address', errorSchema),
  503: json('not configured on this control plane', errorSchema),
};
type ErrorCode = keyof typeof ERRORS;

export function errors<K extends ErrorCode>(...codes: K[]): Pick<typeof ERRORS, K> {
  return Object.fromEntries(codes.map((c) => [c, ERRORS[c]])) as Pick<typeof ERRORS, K>;
}

/** The API under /api and the agents' upload; the dashboard's static files are not described. */
const documented = (url: string): boolean => url.startsWith('/api/') || url.startsWith('/internal/');

const zodTransform = createJsonSchemaTransform({ skipList: [] });
const zodTransformObject = createJsonSchemaTransformObject({});

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  return rest;
}

/**
 * The type provider's transform, plus the response headers it leaves out; request headers by their written
 * names (the schemas name them in lower case, as Node hands them over).
 */
const transform: SwaggerTransform = (document) => {
  if (!documented(document.url)) return { schema: { hide: true }, url: document.url };
  const result = zodTransform(document);
  const headers: unknown = result.schema.headers;
  if (isRecord(headers) && isRecord(headers['properties'])) {
    headers['properties'] = Object.fromEntries(
      Object.entries(headers['properties']).map(([name, schema]) => [headerName(name), schema]),
    );
    if (Array.isArray(headers['required']))
      headers['required'] = headers['required'].map(String).map(headerName);
  }
  const declared: unknown = document.schema?.response;
  const generated: unknown = result.schema.response;
  if (!isRecord(declared) || !isRecord(generated)) return result;
  for (const [code, answer] of Object.entries(declared)) {
    const target = generated[code];
    if (!isRecord(answer) || !isRecord(answer['headers']) || !isRecord(target)) continue;
    target['headers'] = Object.fromEntries(
      Object.entries(answer['headers']).map(([name, schema]) => [name, jsonSchemaOf(schema as z.ZodType)]),
    );
  }
  return result;
};

const REF = '#/components/schemas/';

/** Every `$ref` name under `value`. */
function refsIn(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, into);
  else if (isRecord(value))
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(REF)) into.add(v.slice(REF.length));
      else refsIn(v, into);
    }
  return into;
}

/**
 * The type provider puts the input and the output form of every registered schema in the components
 * (`RunRequestInput` and `RunRequest`): only the ones the paths use are kept, and an input form whose
 * output form is unused keeps the plain name (`RunRequest`).
 */
function usedComponents(document: Record<string, unknown>): Record<string, unknown> {
  const components = isRecord(document['components']) ? document['components'] : {};
  const schemas = isRecord(components['schemas']) ? components['schemas'] : {};
  const used = refsIn(document['paths'], new Set());
  for (const name of used) refsIn(schemas[name], used);
  const names = new Map<string, string>();
  for (const name of used) {
    const plain = name.endsWith('Input') ? name.slice(0, -'Input'.length) : name;
    names.set(name, plain !== name && !used.has(plain) ? plain : name);
  }
  const renamed = JSON.parse(
    JSON.stringify({
      ...document,
      components: { ...components, schemas: Object.fromEntries([...used].map((n) => [n, schemas[n]])) },
    }),
    (key, value: unknown) =>
      key === '$ref' && typeof value === 'string' && value.startsWith(REF)
        ? REF + (names.get(value.slice(REF.length)) ?? value.slice(REF.length))
        : value,
  ) as Record<string, unknown> & { components: { schemas: Record<string, unknown> } };
  renamed.components.schemas = Object.fromEntries(
    Object.entries(renamed.components.schemas)
      .map(([n, s]): [string, unknown] => [names.get(n) ?? n, s])
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return renamed;
}

const transformObject: SwaggerTransformObject = (document) =>
  usedComponents({
    ...zodTransformObject(document),
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  });

/** @fastify/swagger's settings: OpenAPI 3.1 from the routes, bearer tokens on everything not marked public. */
export const swaggerOptions: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'devlab control plane API',
      version: '1',
      description:
        'Runs, results, artifacts and devices of a devlab lab. Generated from the routes\u2019 own schemas: ' +
        'requests are validated and answers serialized with exactly what is described here.',
    },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API token (`devlab tokens create`)' },
        agent: { type: 'http', scheme: 'bearer', description: 'the lab agents\u2019 shared token' },
      },
    },
  },
  transform,
  transformObject,
};

/** Route security for paths served without a token. */
export const PUBLIC: { [scheme: string]: string[] }[] = [];
