import type { FastifyInstance } from 'fastify';
import { partnerScope } from '../../auth/principal.ts';
import { NotFoundError, RequestError } from '../../errors.ts';
import type { ApiDeps } from '../app.ts';

const MAX_ARTIFACT = 50 * 1024 * 1024;

export function registerArtifactRoutes(
  app: FastifyInstance,
  { controlPlane, artifacts, agentToken }: ApiDeps,
): void {
  const store = controlPlane.store;
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: MAX_ARTIFACT },
    (_req, body, done) => done(null, body),
  );

  /** Agents (on any host) upload an attempt's artifacts here; idempotent by artifact id. */
  app.put('/internal/artifacts/:id', async (req, reply) => {
    if (agentToken && req.headers.authorization !== `Bearer ${agentToken}`) {
      return reply.code(401).send({ error: 'agent token required' });
    }
    const { id } = req.params as { id: string };
    const q = req.query as { run?: string; job?: string; attempt?: string; name?: string };
    if (!/^[a-f0-9]{8,64}$/.test(id)) throw new RequestError('id', 'artifact id must be hex');
    if (!q.run || !q.job || !q.name) throw new RequestError('query', 'run, job and name are required');
    const job = store.jobs.get(q.job);
    if (!job || job.runId !== q.run) throw new NotFoundError('job', q.job);
    const attempt = Number(q.attempt);
    if (!Number.isInteger(attempt) || attempt < 1)
      throw new RequestError('attempt', 'attempt must be a positive integer');
    const body = req.body;
    if (!Buffer.isBuffer(body))
      throw new RequestError('body', 'send the artifact as application/octet-stream');
    const contentType = String(req.headers['x-artifact-type'] ?? 'application/octet-stream').slice(0, 100);
    const row = artifacts.save({ id, runId: q.run, jobId: q.job, attempt, name: q.name, contentType }, body);
    return reply.code(201).send({ id: row.id, size: row.size });
  });

  app.get('/api/artifacts/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const row = store.artifacts.get(id);
    const scope = partnerScope(req.principal);
    // Another partner's artifact is indistinguishable from a missing one.
    if (!row || (scope !== null && store.runs.get(row.runId)?.partner !== scope))
      throw new NotFoundError('artifact', id);
    return (
      reply
        .type(row.contentType)
        .header('content-disposition', `inline; filename="${row.name.replace(/[^\w.-]/g, '_')}"`)
        .header('x-content-type-options', 'nosniff')
        // An artifact is whatever a test body wrote: opened directly it must not run script on the
        // dashboard's origin, where the API token lives.
        .header(
          'content-security-policy',
          "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        )
        .send(artifacts.read(row))
    );
  });
}
