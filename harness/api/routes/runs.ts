import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { NotFoundError, RequestError } from '../../errors.ts';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyKeySchema,
} from '../../protocol/idempotency-key.ts';
import { runRequestSchema } from '../../protocol/run-request.ts';
import { junitReport } from '../../results/junit-report.ts';
import type { RunRow } from '../../store/runs-repo.ts';
import type { ApiDeps } from '../app.ts';
import { parseBody } from '../parse-body.ts';
import type { PlanPreview } from '../schemas.ts';
import { jobView, runView } from '../run-view.ts';
import { slicedJson } from '../sliced-json.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The body's partner is checked against the token's before validation: a partner token may only submit
 * for itself (absent means itself); admins and an auth-less lab submit for whichever partner the body names.
 */
function withPartner(req: FastifyRequest): unknown {
  const scope = partnerScope(req.principal);
  const body = req.body ?? {};
  if (scope === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const given = (body as { partner?: unknown }).partner;
  if (given !== undefined && given !== scope)
    throw new RequestError('partner', `partner: this token submits for partner ${scope} only`);
  return { ...body, partner: scope };
}

/** The submit's `Idempotency-Key` header, validated (a 400 naming the header when malformed). */
function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const value = req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
  if (value === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new RequestError(
    IDEMPOTENCY_KEY_HEADER,
    `${IDEMPOTENCY_KEY_HEADER}: ${parsed.error.issues[0]!.message}`,
  );
}

/** A parameter given twice arrives as an array: a 400 naming it, not a 500 from the store. */
const once = z.string({ error: 'give this query parameter once' }).optional();
const listQuerySchema = z.object({ limit: once, partner: once });

export function registerRunRoutes(app: FastifyInstance, { controlPlane }: ApiDeps): void {
  const store = controlPlane.store;
  /** Another partner's run is answered exactly like a missing one, so run ids reveal nothing. */
  const getRun = (req: FastifyRequest): RunRow => {
    const { id } = req.params as { id: string };
    const run = store.runs.get(id);
    const scope = partnerScope(req.principal);
    if (!run || (scope !== null && run.partner !== scope)) throw new NotFoundError('run', id);
    return run;
  };

  app.post('/api/runs', async (req, reply) => {
    const request = parseBody(runRequestSchema, withPartner(req));
    const { run, plan, replayed } = await controlPlane.submit(request, idempotencyKeyOf(req));
    const self = `/api/runs/${encodeURIComponent(run.id)}`;
    // A repeat of a keyed submit answers the run the first one created, as it is now: 200, not 201.
    if (replayed) reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
    const view = runView(store, run);
    type Job = (typeof plan.jobs)[number];
    // An absolute status URL for pollers that cannot resolve a relative one (Spinnaker's webhook stage).
    // The (up to 20,000) jobs are serialized a slice per turn of the event loop.
    const body = slicedJson(
      { ...view, statusUrl: `${req.protocol}://${req.host}${self}`, unplanned: plan.unplanned },
      'jobs',
      plan.jobs,
      (j: Job) => ({
        id: j.jobId,
        testId: j.testId,
        pool: j.pool,
        score: j.score,
        reasons: j.reasons,
        skipReason: j.skipReason ?? null,
      }),
    );
    return reply
      .code(replayed ? 200 : 201)
      .header('location', self)
      .type(JSON_TYPE)
      .send(body);
  });

  // What a run would be, without creating it: CI can show the order, the risk and the reasons first.
  app.post('/api/runs/preview', async (req, reply) => {
    const plan = await controlPlane.preview(parseBody(runRequestSchema, withPartner(req)));
    type Job = (typeof plan.jobs)[number];
    const head: Omit<PlanPreview, 'jobs'> = {
      ranker: plan.ranker,
      unplanned: plan.unplanned,
      budget: plan.budget ?? null,
    };
    const job = (j: Job): PlanPreview['jobs'][number] => ({
      seq: j.seq,
      testId: j.testId,
      pool: j.pool,
      devices: plan.pools[j.pool] ?? [],
      score: j.score,
      reasons: j.reasons,
      estDurationMs: j.estDurationMs,
      skipReason: j.skipReason ?? null,
    });
    return reply.type(JSON_TYPE).send(slicedJson(head, 'jobs', plan.jobs, job));
  });

  app.get('/api/runs', async (req) => {
    const q = parseBody(listQuerySchema, req.query);
    const limit = Math.min(500, Math.max(1, Number(q.limit ?? 50) || 50));
    const partner = partnerScope(req.principal) ?? q.partner;
    return store.runs.list({ limit, ...(partner ? { partner } : {}) }).map((r) => runView(store, r));
  });

  app.get('/api/runs/:id', async (req) => runView(store, getRun(req)));

  app.get('/api/runs/:id/results', async (req) => {
    const run = getRun(req);
    return { run: runView(store, run), jobs: store.jobs.listByRun(run.id).map((j) => jobView(store, j)) };
  });

  app.get('/api/runs/:id/junit', async (req, reply) => {
    const run = getRun(req);
    const jobs = store.jobs.listByRun(run.id);
    const cases = new Map(
      jobs.filter((j) => j.attempts > 0).map((j) => [j.id, store.attempts.casesOf(j.id, j.attempts)]),
    );
    return reply.type('application/xml').send(junitReport({ runId: run.id, jobs, cases }));
  });

  app.post('/api/runs/:id/cancel', async (req) => {
    const run = getRun(req);
    return runView(store, (await controlPlane.cancel(run.id)) ?? run);
  });

  /** Server-sent events: replays the run's stored events after Last-Event-ID, then streams new ones. */
  app.get('/api/runs/:id/events', (req, reply) => {
    const run = getRun(req);
    const after = Number(req.headers['last-event-id'] ?? (req.query as { after?: string }).after ?? 0) || 0;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (e: { seq: number; type: string; payload: unknown; at: number }) =>
      res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e })}\n\n`);
    let last = after;
    const forward = (e: { seq: number; type: string; payload: unknown; at: number }) => {
      if (e.seq <= last) return;
      last = e.seq;
      send(e);
      if (e.type === 'run.finished' || e.type === 'run.cancelled') res.end();
    };
    const unsubscribe = controlPlane.events.subscribe(forward, run.id);
    for (const e of controlPlane.events.replay(run.id, after)) forward(e);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(ping);
      unsubscribe();
    });
  });
}
