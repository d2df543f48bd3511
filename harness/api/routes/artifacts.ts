import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { bearerMatches } from '../../auth/token.ts';
import { NotFoundError, RequestError } from '../../errors.ts';
import type { ApiDeps } from '../app.ts';
import { parseBody } from '../parse-body.ts';

const MAX_ARTIFACT = 50 * 1024 * 1024;

/** A parameter given twice arrives as an array: a 400 naming it, not a 500 deeper down. */
const once = z.string({ error: 'give this query parameter once' }).optional();
const uploadQuerySchema = z.object({ run: once, job: once, attempt: once, name: once });

/** Agents (on any host) upload an attempt's artifacts here; idempotent by artifact id. */
function registerUpload(
  app: FastifyInstance,
  store: ApiDeps['controlPlane']['store'],
  artifacts: ApiDeps['artifacts'],
  agentToken: string | undefined,
): void {
  app.put(
    '/internal/artifacts/:id',
    {
      bodyLimit: MAX_ARTIFACT,
      // Checked before the body is read: without the token nobody makes the server buffer 50 MB.
      onRequest: async (req, reply) => {
        if (agentToken && !bearerMatches(req.headers.authorization, agentToken)) {
          return reply.code(401).send({ error: 'agent token required' });
        }
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = parseBody(uploadQuerySchema, req.query);
      // At most 40 (a SHA-1): the file is `<id>-<name>` and the stored name takes up to 200 of its 255 bytes.
      if (!/^[a-f0-9]{8,40}$/.test(id))
        throw new RequestError('id', 'artifact id must be 8 to 40 hex digits');
      if (!q.run || !q.job || !q.name) throw new RequestError('query', 'run, job and name are required');
      const job = store.jobs.get(q.job);
      if (!job || job.runId !== q.run) throw new NotFoundError('job', q.job);
      // Decimal digits only: `1e3`, `0x10` or `1e308` are not attempt numbers.
      if (!/^[1-9][0-9]{0,5}$/.test(q.attempt ?? ''))
        throw new RequestError(
          'attempt',
          'attempt must be a positive integer (decimal digits, at most 999999)',
        );
      const attempt = Number(q.attempt);
      const body = req.body;
      if (!Buffer.isBuffer(body))
        throw new RequestError('body', 'send the artifact as application/octet-stream');
      const contentType = String(req.headers['x-artifact-type'] ?? 'application/octet-stream').slice(0, 100);
      const row = artifacts.save(
        { id, runId: q.run, jobId: q.job, attempt, name: q.name, contentType },
        body,
      );
      return reply.code(201).send({ id: row.id, size: row.size });
    },
  );
}

export function registerArtifactRoutes(
  app: FastifyInstance,
  { controlPlane, artifacts, agentToken }: ApiDeps,
): void {
  const store = controlPlane.store;
  // The upload route alone reads raw bytes (up to MAX_ARTIFACT): its parser lives in its own encapsulated
  // context, so any other route answers a non-JSON body with 415 instead of parsing it.
  app.register(async (uploads) => {
    uploads.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    registerUpload(uploads, store, artifacts, agentToken);
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
