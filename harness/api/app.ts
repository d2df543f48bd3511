import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TransitionError } from '../../devices/state/transitions.ts';
import { isQueryError } from '../../suites/query/errors.ts';
import { registerAuth } from '../auth/auth-hook.ts';
import { registerDashboard } from '../dashboard/routes.ts';
import {
  IdempotencyConflictError,
  NotFoundError,
  RequestError,
  UnprocessableRequestError,
} from '../errors.ts';
import { IDEMPOTENCY_KEY_HEADER } from '../protocol/idempotency-key.ts';
import { TokensRepo } from '../store/tokens-repo.ts';
import type { ApiDeps } from './api-deps.ts';
import { registerJsonParser } from './json-body.ts';
import { json, PUBLIC, swaggerOptions } from './openapi.ts';
import { artifactRoutes } from './routes/artifacts.ts';
import { deviceRoutes } from './routes/devices.ts';
import { historyExportRoutes } from './routes/history-export.ts';
import { hookRoutes } from './routes/hooks.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { metricsRoute } from './routes/metrics.ts';
import { openApiRoute } from './routes/openapi.ts';
import { reportRoutes } from './routes/report.ts';
import { runRoutes } from './routes/runs.ts';
import { headerName, validatorCompiler } from './validation.ts';
import { registerWebDriverRoutes } from '../webdriver/routes.ts';

/** The request id header: a client's own id is kept (if it looks like one), else one is made; always answered. */
export const REQUEST_ID_HEADER = 'x-request-id';
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Never logged, whatever a log line carries: credentials in request and answer headers, and any field
 * named like one. (The request serializer logs method, URL and addresses only; this is the last defence.)
 */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  '*.token',
  'agentToken',
];

/** The agents' artifact upload, whose 5xx answers are counted (`devlab_artifact_upload_failures_total`). */
const UPLOAD_ROUTE = { method: 'PUT', url: '/internal/artifacts/:id' };

/** Fastify's own 4xx codes, turned into the field they are about. */
const FIELD_OF_CODE: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'content-length',
};

/**
 * Error answers are bounded: an error message can quote what the client sent (a value, a line of a query),
 * and a megabyte of bad input must not come back as a bigger answer.
 */
const MAX_ERROR = 1000;
const MAX_DETAIL = 2000;

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * A validation error in Fastify's own shape (`validation[0].instancePath`), from a validator other than
 * ours (validation.ts answers with a RequestError): the field is the first issue's path.
 */
function validationField(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const path = first.instancePath.split('/').filter(Boolean);
  if (err.validationContext === 'headers' && path[0]) path[0] = headerName(path[0]);
  return path.join('.') || err.validationContext;
}

/**
 * The control plane's HTTP API: JSON errors that name the field, never a stack trace. Routes declare their
 * request and answer schemas (zod): Fastify validates the body, query string, path
 * parameters and headers before the handler runs (a 400 naming the field), and serializes JSON answers
 * through the route's schema, so only the fields it names are sent. The OpenAPI document is generated from
 * the same schemas.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    ...(deps.logger
      ? {
          loggerInstance: deps.logger.child(
            { component: 'api' },
            { redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } },
          ) as FastifyBaseLogger,
        }
      : { logger: false }),
    genReqId: requestId,
    // One line per request, from the onResponse hook below, at a level that follows its status.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024,
  });
  const metrics = deps.controlPlane.metrics;
  /** Requests whose 5xx the error handler logged with its cause (not logged again when answered). */
  const failed = new WeakSet<FastifyRequest>();
  app.addHook('onSend', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const status = reply.statusCode;
    const route = req.routeOptions.url ?? null;
    if (status >= 500 && route === UPLOAD_ROUTE.url && req.method === UPLOAD_ROUTE.method)
      metrics.artifactUploadFailures.inc({ status: String(status) });
    if (failed.has(req)) return;
    const line = {
      method: req.method,
      route,
      url: req.url.split('?')[0],
      status,
      ms: Math.round(reply.elapsedTime),
    };
    // A 5xx answered without an error (a full or read-only artifact folder): the route said why.
    if (status >= 500) req.log.warn(line, 'request answered with a server error');
    else if (status >= 400) req.log.info(line, 'request refused');
    else req.log.debug(line, 'request answered');
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerJsonParser(app);
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof RequestError) {
      return reply.code(400).send({
        error: bounded(err.message, MAX_ERROR),
        field: bounded(err.field, MAX_ERROR),
        ...(err.detail ? { detail: bounded(err.detail, MAX_DETAIL) } : {}),
      });
    }
    if (isQueryError(err)) {
      return reply.code(400).send({
        error: bounded(err.message, MAX_ERROR),
        field: 'query',
        line: err.line,
        column: err.column,
        detail: bounded(err.caret, MAX_DETAIL),
      });
    }
    if (err instanceof UnprocessableRequestError)
      return reply.code(422).send({
        error: bounded(err.message, MAX_ERROR),
        field: err.field,
        ...(err.detail ? { detail: bounded(err.detail, MAX_DETAIL) } : {}),
      });
    if (err instanceof IdempotencyConflictError)
      return reply.code(422).send({ error: err.message, field: IDEMPOTENCY_KEY_HEADER });
    if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
    if (err instanceof TransitionError) return reply.code(409).send({ error: err.message, field: 'state' });
    const { statusCode: status, code } = err as { statusCode?: number; code?: string };
    if (status && status >= 400 && status < 500) {
      const invalid = validationField(err as FastifyError);
      const field =
        (code && FIELD_OF_CODE[code]) ?? invalid ?? (err instanceof SyntaxError ? 'body' : undefined);
      const message = invalid
        ? `${invalid}: ${(err as FastifyError).validation?.[0]?.message}`
        : (err as Error).message;
      return reply.code(status).send({
        error: bounded(message, MAX_ERROR),
        ...(field ? { field: bounded(field, MAX_ERROR) } : {}),
      });
    }
    // Unexpected: the client gets no detail, the log gets the cause (message, stack, causes).
    failed.add(req);
    req.log.error(
      { err, method: req.method, route: req.routeOptions.url ?? null, url: req.url.split('?')[0] },
      'request failed: unexpected error',
    );
    return reply.code(500).send({ error: 'internal error' });
  });
  const tokens = deps.tokens ?? new TokensRepo(deps.controlPlane.store.db);
  registerAuth(app, tokens, deps.auth ?? { enabled: false });
  // The generator collects routes as they are declared: it is registered first, the routes after it.
  app.register(swagger, swaggerOptions);
  // Each route module is a plugin in a context of its own, under this one: the hooks, the error handler
  // and the parsers above apply to them all; whatever a module adds (a parser, a hook) stays in its own.
  app.register(async (api) => {
    api.register(runRoutes, deps);
    api.register(artifactRoutes, deps);
    api.register(deviceRoutes, deps);
    api.register(openApiRoute);
    api.register(reportRoutes, deps);
    api.register(historyExportRoutes, deps);
    api.withTypeProvider<ZodTypeProvider>().get(
      '/api/health',
      {
        schema: {
          summary: 'Liveness, served without a token',
          security: PUBLIC,
          response: { 200: json('the control plane answers', z.object({ ok: z.literal(true) })) },
        },
      },
      async () => ({ ok: true as const }),
    );
  });
  app.register(metricsRoute, { metrics, auth: deps.auth?.enabled ?? false, tokens });
  if (deps.webdriver)
    registerWebDriverRoutes(app, deps.webdriver, {
      auth: deps.auth?.enabled ?? false,
      tokens,
      ...(deps.reservations ? { reservations: deps.reservations.service } : {}),
    });
  if (deps.dashboard !== false) registerDashboard(app);
  if (deps.hooks) app.register(hookRoutes, { hooks: deps.hooks });
  if (deps.reservations)
    app.register(reservationRoutes, {
      reservations: deps.reservations.service,
      maxMs: deps.reservations.maxMs,
    });
  return app;
}
