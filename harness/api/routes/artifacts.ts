import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { bearerMatches } from '../../auth/token.ts';
import { ArtifactStorageError } from '../../artifacts/artifact-store.ts';
import { NotFoundError, RequestError } from '../../errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { binary, errors, json, raw } from '../openapi.ts';
import { artifactSavedSchema, errorSchema } from '../schemas.ts';

const MAX_ARTIFACT = 50 * 1024 * 1024;
const OCTETS = 'application/octet-stream';

/** A parameter given twice arrives as an array: a 400 naming it, not a 500 deeper down. */
const once = z.string({ error: 'give this query parameter once' }).optional();
const uploadQuerySchema = z.object({
  run: once.describe('run id (required)'),
  job: once.describe('job id of that run (required)'),
  attempt: once.describe('attempt number, 1 to 999999 (required)'),
  name: once.describe('file name (required)'),
});
// At most 40 (a SHA-1): the file is `<id>-<name>` and the stored name takes up to 200 of its 255 bytes.
const uploadParams = z.object({
  id: z.string().regex(/^[a-f0-9]{8,40}$/, 'artifact id must be 8 to 40 hex digits'),
});
/** The upload's body: raw bytes (the JSON parser would hand over anything else). */
const uploadBody = z
  .custom<Buffer>((body) => Buffer.isBuffer(body), { error: `send the artifact as ${OCTETS}` })
  .meta({ type: 'string', format: 'binary' });

/** Agents (on any host) upload an attempt's artifacts here; idempotent by artifact id. */
function registerUpload(
  app: FastifyInstance,
  store: ApiDeps['controlPlane']['store'],
  artifacts: ApiDeps['artifacts'],
  agentToken: string | undefined,
): void {
  app.withTypeProvider<ZodTypeProvider>().put(
    '/internal/artifacts/:id',
    {
      bodyLimit: MAX_ARTIFACT,
      // Checked before the body is read: without the token nobody makes the server buffer 50 MB.
      onRequest: async (req, reply) => {
        if (agentToken && !bearerMatches(req.headers.authorization, agentToken)) {
          return reply.code(401).send({ error: 'agent token required' });
        }
      },
      schema: {
        summary: 'Upload an artifact of an attempt (lab agents); idempotent by artifact id',
        security: [{ agent: [] }],
        consumes: [OCTETS],
        params: uploadParams,
        querystring: uploadQuerySchema,
        headers: z.object({
          'x-artifact-type': z.string().optional().describe('the content type to serve it with'),
          'x-artifact-lost': z
            .string()
            .optional()
            .describe('sent instead of the bytes: why the agent dropped the artifact (recorded as lost)'),
          'x-devlab-device': z.string().optional().describe('the device of the attempt, for the log'),
        }),
        body: uploadBody,
        response: {
          201: json('stored (or already stored under this id)', artifactSavedSchema),
          ...errors(400, 401, 404, 413, 415),
          503: json('the artifact folder is read-only or not writable now: send it again later', errorSchema),
          507: json('the artifact folder is full: send it again later', errorSchema),
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const q = req.query;
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
      const contentType = String(req.headers['x-artifact-type'] ?? OCTETS).slice(0, 100);
      const meta = { id, runId: q.run, jobId: q.job, attempt, name: q.name, contentType };
      const device = req.headers['x-devlab-device'];
      const from = typeof device === 'string' && device ? { device: device.slice(0, 200) } : {};
      // An agent that had to drop the artifact says so instead of sending it: recorded as lost, with why.
      const lost = req.headers['x-artifact-lost'];
      try {
        const { row } =
          typeof lost === 'string'
            ? artifacts.recordLost(meta, lost, from)
            : await artifacts.save(meta, req.body, from);
        return reply.code(201).send({ id: row.id, size: row.size });
      } catch (err) {
        // A full (507) or read-only (503) disk, logged with its cause: the agent keeps the file and retries.
        if (!(err instanceof ArtifactStorageError)) throw err;
        return reply.code(err.status).header('retry-after', '5').send({ error: err.message });
      }
    },
  );
}

/** The artifact routes (a Fastify plugin, registered with the API's deps): the agents' upload and the download. */
export async function artifactRoutes(
  app: FastifyInstance,
  { controlPlane, artifacts, agentToken }: ApiDeps,
): Promise<void> {
  const store = controlPlane.store;
  // The upload route alone reads raw bytes (up to MAX_ARTIFACT): its parser lives in its own encapsulated
  // context, so any other route answers a non-JSON body with 415 instead of parsing it.
  app.register(async (uploads) => {
    uploads.addContentTypeParser(OCTETS, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    registerUpload(uploads, store, artifacts, agentToken);
  });

  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/artifacts/:id',
    {
      schema: {
        summary: 'An artifact (log, screenshot, container log), with the content type it was uploaded with',
        params: z.object({ id: z.string().describe('artifact id') }),
        response: {
          200: raw('the artifact\u2019s bytes', '*/*', binary),
          ...errors(400, 401, 404, 429),
          410: json('the artifact was lost before it was stored: the answer says why', errorSchema),
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
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
    },
  );
}
