import Fastify, { type FastifyInstance } from 'fastify';
import { isQueryError } from '../../suites/query/errors.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import { NotFoundError, RequestError } from '../errors.ts';
import type { ControlPlane } from '../server/control-plane.ts';
import { registerArtifactRoutes } from './routes/artifacts.ts';
import { registerRunRoutes } from './routes/runs.ts';

export interface ApiDeps {
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
  /** Agents present it when they upload artifacts. */
  agentToken?: string;
  bodyLimitBytes?: number;
}

/** The control plane's HTTP API: JSON errors that name the field, never a stack trace. */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024 });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof RequestError) {
      return reply
        .code(400)
        .send({ error: err.message, field: err.field, ...(err.detail ? { detail: err.detail } : {}) });
    }
    if (isQueryError(err)) {
      return reply
        .code(400)
        .send({ error: err.message, field: 'query', line: err.line, column: err.column, detail: err.caret });
    }
    if (err instanceof NotFoundError) return reply.code(404).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return reply.code(status).send({ error: (err as Error).message });
    return reply.code(500).send({ error: 'internal error' });
  });
  registerRunRoutes(app, deps);
  registerArtifactRoutes(app, deps);
  app.get('/api/health', async () => ({ ok: true }));
  return app;
}
