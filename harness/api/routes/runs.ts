import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { ALL_PARTNERS } from '../../protocol/all-partners.ts';
import { NotFoundError, RequestError, UnprocessableRequestError } from '../../errors.ts';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_MAX,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyKeySchema,
} from '../../protocol/idempotency-key.ts';
import { runRequestSchema } from '../../protocol/run-request.ts';
import { junitReport } from '../../results/junit-report.ts';
import type { RunRow } from '../../store/runs-repo.ts';
import type { ApiDeps } from '../api-deps.ts';
import { errors, json, raw } from '../openapi.ts';
import {
  type PlanPreview,
  planPreviewSchema,
  runResultsSchema,
  type RunView,
  runViewSchema,
  type SubmittedRun,
  submittedRunSchema,
} from '../schemas.ts';
import { duplicateExecutions } from '../duplicate-executions.ts';
import { jobView, plannedCounts, runView } from '../run-view.ts';
import { slicedJson } from '../sliced-json.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Runs before validation: the body's partner is checked against the token's first. A partner token may
 * only submit for itself (absent means itself); admins and an auth-less lab submit for whichever partner
 * the body names. A request without a body is an empty run request.
 */
async function withPartner(req: FastifyRequest): Promise<void> {
  const scope = partnerScope(req.principal);
  const body: unknown = req.body ?? {};
  req.body = body;
  if (scope === null || typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const given = (body as { partner?: unknown }).partner;
  if (given !== undefined && given !== scope)
    throw new RequestError('partner', `partner: this token submits for partner ${scope} only`);
  req.body = { ...body, partner: scope };
}

/** A parameter given twice arrives as an array: a 400 naming it, not a 500 from the store. */
const once = z.string({ error: 'give this query parameter once' }).optional();
const runParams = z.object({ id: z.string().describe('run id') });

const submitHeaders = z.object({
  // Node hands headers over in lower case; an error names it `Idempotency-Key` (validation.ts).
  'idempotency-key': idempotencyKeySchema
    .optional()
    .describe(
      `a client-chosen key (e.g. a UUID per CI job), 1-${IDEMPOTENCY_KEY_MAX} letters, digits and . _ : / + = -, ` +
        'optionally in double quotes',
    ),
});

const location = z.string().describe('the run');

const planQuery = z.object({
  allowBroken: once.describe(
    '`true`: plan even though suite files of this lab did not load (the answer names them in `droppedSuites`); otherwise such a lab answers 422',
  ),
});

/** The run routes (a Fastify plugin, registered with the API's deps): submit, preview, status, results, events. */
export async function runRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { controlPlane, suiteProblems } = deps;
  const api = app.withTypeProvider<ZodTypeProvider>();
  const store = controlPlane.store;
  /** Another partner's run is answered exactly like a missing one, so run ids reveal nothing. */
  const getRun = (req: FastifyRequest, id: string): RunRow => {
    const run = store.runs.get(id);
    const scope = partnerScope(req.principal);
    if (!run || (scope !== null && run.partner !== scope)) throw new NotFoundError('run', id);
    return run;
  };
  /** Suite files the lab started without: a 422 unless the request allows them, else named in the answer. */
  const droppedSuites = (allowBroken: string | undefined): { droppedSuites?: string[] } => {
    const problems = suiteProblems?.() ?? [];
    if (problems.length === 0) return {};
    if (allowBroken !== 'true')
      throw new UnprocessableRequestError(
        'suites',
        `${problems.length} suite file(s) of this lab did not load, so their tests would be missing: fix them, ` +
          'or plan without them with allowBroken=true (devlab run submit --allow-broken)',
        problems.join('\n'),
      );
    return { droppedSuites: [...problems] };
  };

  api.post(
    '/api/runs',
    {
      preValidation: withPartner,
      schema: {
        summary: 'Plan and queue a run; a partner token submits for its own partner',
        description:
          `With an \`${IDEMPOTENCY_KEY_HEADER}\` header the submit is idempotent per partner: the same key ` +
          'with the same request (after defaults) answers the run the first submit created, also while ' +
          'that one is still being planned, so a client may safely send it again after a timeout or a ' +
          'lost connection. Keys do not expire.',
        headers: submitHeaders,
        querystring: planQuery,
        body: runRequestSchema,
        response: {
          201: json('the planned run (new)', submittedRunSchema, { Location: location }),
          200: json(
            `the run an earlier submit with the same \`${IDEMPOTENCY_KEY_HEADER}\` created, as it is now`,
            submittedRunSchema,
            { [IDEMPOTENT_REPLAYED_HEADER]: z.literal('true'), Location: location },
          ),
          ...errors(400, 401, 413, 415, 422, 429),
        },
      },
    },
    async (req, reply) => {
      const dropped = droppedSuites(req.query.allowBroken);
      const key = req.headers['idempotency-key'];
      // The run's 20,000 attempts are queued once its answer is out, not interleaved with it.
      const answered = new Promise<void>((resolve) => {
        reply.raw.once('finish', () => resolve());
        reply.raw.once('close', () => resolve());
      });
      const { run, plan, replayed } = await controlPlane.submit(req.body, key, { queueAfter: answered });
      const self = `/api/runs/${encodeURIComponent(run.id)}`;
      // A repeat of a keyed submit answers the run the first one created, as it is now: 200, not 201.
      if (replayed) reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      type Job = (typeof plan.jobs)[number];
      // An absolute status URL for pollers that cannot resolve a relative one (Spinnaker's webhook stage).
      const head: Omit<SubmittedRun, 'jobs'> = {
        // A new run's counts come from its plan; a replayed one's from the store, as it is now.
        ...runView(store, run, replayed ? undefined : plannedCounts(plan.jobs)),
        statusUrl: `${req.protocol}://${req.host}${self}`,
        unplanned: plan.unplanned,
        ...dropped,
      };
      const job = (j: Job): SubmittedRun['jobs'][number] => ({
        id: j.jobId,
        testId: j.testId,
        pool: j.pool,
        score: j.score,
        reasons: j.reasons,
        skipReason: j.skipReason ?? null,
      });
      // The (up to 20,000) jobs are serialized a slice per turn of the event loop: Fastify sends a stream
      // as it is, without the route's serializer, which documents the answer here.
      const body = slicedJson(head, 'jobs', plan.jobs, job);
      return reply
        .code(replayed ? 200 : 201)
        .header('location', self)
        .type(JSON_TYPE)
        .send(body as unknown as SubmittedRun);
    },
  );

  // What a run would be, without creating it: CI can show the order, the risk and the reasons first.
  api.post(
    '/api/runs/preview',
    {
      preValidation: withPartner,
      schema: {
        summary: 'The plan a run request would get (order, risk, reasons, budget cuts); creates nothing',
        querystring: planQuery,
        body: runRequestSchema,
        response: { 200: json('the plan', planPreviewSchema), ...errors(400, 401, 413, 415, 422, 429) },
      },
    },
    async (req, reply) => {
      const dropped = droppedSuites(req.query.allowBroken);
      // A partner previews from its own history; an admin (or an auth-less lab) from the whole lab's.
      const plan = await controlPlane.preview(req.body, {
        historyPartner: partnerScope(req.principal) ?? ALL_PARTNERS,
      });
      type Job = (typeof plan.jobs)[number];
      const head: Omit<PlanPreview, 'jobs'> = {
        ranker: plan.ranker,
        unplanned: plan.unplanned,
        budget: plan.budget ?? null,
        confidence: plan.confidence ?? null,
        ...dropped,
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
      // Streamed a slice per event-loop turn, like the submit's answer (not through the serializer).
      const body = slicedJson(head, 'jobs', plan.jobs, job);
      return reply.type(JSON_TYPE).send(body as unknown as PlanPreview);
    },
  );

  api.get(
    '/api/runs',
    {
      schema: {
        summary: 'Recent runs, newest first (a partner token sees its own only)',
        querystring: z.object({
          limit: once.describe('how many, 1 to 500 (default 50)'),
          partner: once.describe('only this partner\u2019s runs (a partner token: its own anyway)'),
        }),
        response: { 200: json('runs', z.array(runViewSchema)), ...errors(400, 401, 429) },
      },
    },
    async (req) => {
      const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 50) || 50));
      const partner = partnerScope(req.principal) ?? req.query.partner;
      return store.runs.list({ limit, ...(partner ? { partner } : {}) }).map((r) => runView(store, r));
    },
  );

  api.get(
    '/api/runs/:id',
    {
      schema: {
        summary: 'A run with `pipelineStatus` for Spinnaker',
        params: runParams,
        response: { 200: json('the run', runViewSchema), ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => runView(store, getRun(req, req.params.id)),
  );

  api.get(
    '/api/runs/:id/results',
    {
      schema: {
        summary: 'The run with every job, attempt, artifact and test case',
        params: runParams,
        response: { 200: json('results', runResultsSchema), ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => {
      const run = getRun(req, req.params.id);
      const jobs = store.jobs.listByRun(run.id);
      // O(failed jobs): read from the lab history service's incremental state, never from the store's history.
      const triage = deps.triage?.(run, jobs);
      // Executions of an attempt beyond its stored one (a lost queue lock): shown as such, one read per run.
      const duplicates = duplicateExecutions(store, run.id);
      return {
        run: runView(store, run),
        jobs: jobs.map((j) => jobView(store, j, triage?.get(j.id) ?? null, duplicates.get(j.id))),
      };
    },
  );

  api.get(
    '/api/runs/:id/junit',
    {
      schema: {
        summary: 'JUnit XML report',
        params: runParams,
        response: { 200: raw('JUnit XML', 'application/xml'), ...errors(400, 401, 404, 429) },
      },
    },
    async (req, reply) => {
      const run = getRun(req, req.params.id);
      const jobs = store.jobs.listByRun(run.id);
      const cases = new Map(
        jobs.filter((j) => j.attempts > 0).map((j) => [j.id, store.attempts.casesOf(j.id, j.attempts)]),
      );
      const triage = deps.triage?.(run, jobs);
      // Tests no device could run: skipped cases naming why (the plan keeps them; `runView` shows them too).
      const unplanned = (run.plan as RunView['plan'])?.unplanned ?? [];
      return reply
        .type('application/xml')
        .send(junitReport({ runId: run.id, jobs, cases, unplanned, ...(triage ? { triage } : {}) }));
    },
  );

  api.post(
    '/api/runs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a run',
        params: runParams,
        response: { 200: json('the run', runViewSchema), ...errors(400, 401, 404, 413, 429) },
      },
    },
    async (req) => {
      const run = getRun(req, req.params.id);
      return runView(store, (await controlPlane.cancel(run.id)) ?? run);
    },
  );

  /** Server-sent events: replays the run's stored events after Last-Event-ID, then streams new ones. */
  api.get(
    '/api/runs/:id/events',
    {
      schema: {
        summary: 'Server-sent events; replay after `Last-Event-ID` (or `after`)',
        params: runParams,
        headers: z.object({
          'last-event-id': z.string().optional().describe('replay the events after this sequence number'),
        }),
        querystring: z.object({ after: once.describe('as Last-Event-ID, for clients that cannot set it') }),
        response: { 200: raw('event stream', 'text/event-stream'), ...errors(400, 401, 404, 429) },
      },
    },
    (req, reply) => {
      const run = getRun(req, req.params.id);
      const after = Number(req.headers['last-event-id'] ?? req.query.after ?? 0) || 0;
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
    },
  );
}
