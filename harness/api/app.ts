import Fastify, { type FastifyInstance } from 'fastify';
import { TransitionError } from '../../devices/state/transitions.ts';
import { isQueryError } from '../../suites/query/errors.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { type AuthOptions, registerAuth } from '../auth/auth-hook.ts';
import { registerDashboard } from '../dashboard/routes.ts';
import { type ReportProvider, registerReportRoutes } from './routes/report.ts';
import { IdempotencyConflictError, NotFoundError, RequestError } from '../errors.ts';
import { IDEMPOTENCY_KEY_HEADER } from '../protocol/idempotency-key.ts';
import type { ControlPlane } from '../server/control-plane.ts';
import { TokensRepo } from '../store/tokens-repo.ts';
import type { DevicesProvider } from './devices-provider.ts';
import { registerArtifactRoutes } from './routes/artifacts.ts';
import { registerDeviceRoutes } from './routes/devices.ts';
import { registerOpenApiRoute } from './routes/openapi.ts';
import { registerRunRoutes } from './routes/runs.ts';

export interface ApiDeps {
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
  /** Agents present it when they upload artifacts. */
  agentToken?: string;
  /** Limit of JSON request bodies (artifact uploads have their own). */
  bodyLimitBytes?: number;
  /** Bearer tokens on `/api/*`; off by default so a single-user lab needs no setup. */
  auth?: AuthOptions;
  /** Tokens to check against; defaults to the control plane store's table. */
  tokens?: TokensRepo;
  /** Inventory and live states for the device routes; without it they answer 503. */
  devices?: DevicesProvider;
  /** The failure-prediction report at /api/report; without it the route answers 503. */
  report?: ReportProvider;
  /** Serve the dashboard at `/` (default true). */
  dashboard?: boolean;
}

/** Fastify's own 4xx codes, turned into the field they are about. */
const FIELD_OF_CODE: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'content-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'content-length',
};

/** The control plane's HTTP API: JSON errors that name the field, never a stack trace. */
/**
 * Error answers are bounded: an error message can quote what the client sent (a value, a line of a query),
 * and a megabyte of bad input must not come back as a bigger answer.
 */
const MAX_ERROR = 1000;
const MAX_DETAIL = 2000;

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024 });
  app.setErrorHandler((err, _req, reply) => {
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
    if (err instanceof IdempotencyConflictError)
      return reply.code(422).send({ error: err.message, field: IDEMPOTENCY_KEY_HEADER });
    if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
    if (err instanceof TransitionError) return reply.code(409).send({ error: err.message, field: 'state' });
    const { statusCode: status, code } = err as { statusCode?: number; code?: string };
    if (status && status >= 400 && status < 500) {
      const field = (code && FIELD_OF_CODE[code]) ?? (err instanceof SyntaxError ? 'body' : undefined);
      return reply
        .code(status)
        .send({ error: bounded((err as Error).message, MAX_ERROR), ...(field ? { field } : {}) });
    }
    return reply.code(500).send({ error: 'internal error' });
  });
  registerAuth(
    app,
    deps.tokens ?? new TokensRepo(deps.controlPlane.store.db),
    deps.auth ?? { enabled: false },
  );
  registerRunRoutes(app, deps);
  registerArtifactRoutes(app, deps);
  registerDeviceRoutes(app, deps);
  registerOpenApiRoute(app);
  registerReportRoutes(app, deps);
  if (deps.dashboard !== false) registerDashboard(app);
  app.get('/api/health', async () => ({ ok: true }));
  return app;
}
