import { z } from 'zod';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_MAX,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyKeyValueSchema,
} from '../protocol/idempotency-key.ts';
import { runRequestSchema } from '../protocol/run-request.ts';
import {
  deviceActionSchema,
  deviceViewSchema,
  errorSchema,
  planPreviewSchema,
  runViewSchema,
} from './schemas.ts';

type JsonSchema = Record<string, unknown>;

/** Request bodies are described as clients send them (defaults optional), responses as the server fills them. */
const input = (schema: z.ZodType): JsonSchema => strip(z.toJSONSchema(schema, { io: 'input' }));
const output = (schema: z.ZodType): JsonSchema => strip(z.toJSONSchema(schema, { io: 'output' }));

/** Component schemas live inside the OpenAPI document, whose dialect is declared once at the top. */
function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _drop, ...rest } = schema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ content: { 'application/json': { schema } } });
const errors = {
  '400': { description: 'invalid request; `field` names what was wrong', ...json(ref('Error')) },
  '401': { description: 'missing, invalid or revoked bearer token', ...json(ref('Error')) },
  '404': { description: 'not found (or another partner\u2019s)', ...json(ref('Error')) },
  '429': { description: 'too many failed authentication attempts from this address', ...json(ref('Error')) },
};
const idParam = (what: string) => [
  { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: `${what} id` },
];

function runGet(summary: string, ok: Record<string, unknown>) {
  return { get: { summary, parameters: idParam('run'), responses: { '200': ok, ...errors } } };
}

/** The OpenAPI 3.1 description of the API, generated from the same zod schemas that validate requests. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'devlab control plane API', version: '1' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearer: [] }],
    paths: {
      '/api/runs': {
        post: {
          summary: 'Plan and queue a run; a partner token submits for its own partner',
          description:
            `With an \`${IDEMPOTENCY_KEY_HEADER}\` header the submit is idempotent per partner: the same key ` +
            'with the same request (after defaults) answers the run the first submit created, also while ' +
            'that one is still being planned, so a client may safely send it again after a timeout or a ' +
            'lost connection. Keys do not expire.',
          parameters: [
            {
              name: IDEMPOTENCY_KEY_HEADER,
              in: 'header',
              required: false,
              description: `a client-chosen key (e.g. a UUID per CI job), 1-${IDEMPOTENCY_KEY_MAX} characters, optionally in double quotes`,
              schema: output(idempotencyKeyValueSchema),
            },
          ],
          requestBody: { required: true, ...json(ref('RunRequest')) },
          responses: {
            '201': {
              description: 'the planned run (new)',
              headers: { Location: { schema: { type: 'string' }, description: 'the run' } },
              ...json(ref('Run')),
            },
            '200': {
              description: `the run an earlier submit with the same \`${IDEMPOTENCY_KEY_HEADER}\` created, as it is now`,
              headers: {
                [IDEMPOTENT_REPLAYED_HEADER]: { schema: { type: 'string', enum: ['true'] } },
                Location: { schema: { type: 'string' }, description: 'the run' },
              },
              ...json(ref('Run')),
            },
            '422': {
              description: `the \`${IDEMPOTENCY_KEY_HEADER}\` was already used with a different request`,
              ...json(ref('Error')),
            },
            ...errors,
          },
        },
        get: {
          summary: 'Recent runs (a partner token sees its own only)',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
            { name: 'partner', in: 'query', schema: { type: 'string' }, description: 'admins only' },
          ],
          responses: {
            '200': { description: 'runs', ...json({ type: 'array', items: ref('Run') }) },
            ...errors,
          },
        },
      },
      '/api/runs/preview': {
        post: {
          summary: 'The plan a run request would get (order, risk, reasons, budget cuts); creates nothing',
          requestBody: { required: true, ...json(ref('RunRequest')) },
          responses: { '200': { description: 'the plan', ...json(ref('PlanPreview')) }, ...errors },
        },
      },
      '/api/runs/{id}': runGet('A run with `pipelineStatus` for Spinnaker', {
        description: 'the run',
        ...json(ref('Run')),
      }),
      '/api/runs/{id}/results': runGet('The run with every job, attempt, artifact and test case', {
        description: 'results',
        ...json({ type: 'object' }),
      }),
      '/api/runs/{id}/junit': runGet('JUnit XML report', {
        description: 'JUnit XML',
        content: { 'application/xml': { schema: { type: 'string' } } },
      }),
      '/api/runs/{id}/events': runGet('Server-sent events; replay after `Last-Event-ID`', {
        description: 'event stream',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      }),
      '/api/runs/{id}/cancel': {
        post: {
          summary: 'Cancel a run',
          parameters: idParam('run'),
          responses: { '200': { description: 'the run', ...json(ref('Run')) }, ...errors },
        },
      },
      '/api/artifacts/{id}': {
        get: {
          summary: 'An artifact (log, screenshot, container log)',
          parameters: idParam('artifact'),
          responses: { '200': { description: 'the artifact bytes with their content type' }, ...errors },
        },
      },
      '/api/devices': {
        get: {
          summary: 'Inventory with live states',
          responses: {
            '200': { description: 'devices', ...json({ type: 'array', items: ref('Device') }) },
            ...errors,
          },
        },
      },
      ...Object.fromEntries(
        (['block', 'unblock', 'drain'] as const).map((action) => [
          `/api/devices/{id}/${action}`,
          {
            post: {
              summary: `${action} a device (admin token)`,
              parameters: idParam('device'),
              requestBody: { required: true, ...json(ref('DeviceAction')) },
              responses: {
                '200': { description: 'the device', ...json(ref('Device')) },
                '403': { description: 'not an admin token', ...json(ref('Error')) },
                '409': {
                  description: 'transition not allowed from the current state',
                  ...json(ref('Error')),
                },
                ...errors,
              },
            },
          },
        ]),
      ),
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        RunRequest: input(runRequestSchema),
        Run: output(runViewSchema),
        PlanPreview: output(planPreviewSchema),
        Device: output(deviceViewSchema),
        DeviceAction: input(deviceActionSchema),
        Error: output(errorSchema),
      },
    },
  };
}
