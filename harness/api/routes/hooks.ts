import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import type { DeliveryView, HookService } from '../../hooks/hook-service.ts';
import { HOOK_EVENTS, HOOK_TARGETS, type HookRow } from '../../store/hooks-repo.ts';
import { errors, json } from '../openapi.ts';

export interface HookRouteDeps {
  hooks: HookService;
}

const hookEventSchema = z.enum(HOOK_EVENTS);

const newHookSchema = z
  .object({
    target: z
      .enum(HOOK_TARGETS)
      .optional()
      .describe(
        'generic (default): the signed devlab event; spinnaker: a Gate webhook trigger; github: a commit status',
      ),
    url: z
      .string()
      .min(1)
      .max(2000)
      .optional()
      .describe(
        'generic: where deliveries are POSTed; spinnaker: Gate\u2019s base URL; github: not given (hooks.githubApiUrl). Its host must be on the allow-list',
      ),
    events: z
      .array(hookEventSchema)
      .min(1)
      .max(HOOK_EVENTS.length * 2)
      .optional()
      .describe(
        'what to be told about; default for spinnaker: run.finished, for github: run.started and run.finished',
      ),
    spinnakerSource: z
      .string()
      .max(100)
      .optional()
      .describe('spinnaker: the webhook trigger\u2019s source (POST <url>/webhooks/webhook/<source>)'),
    githubRepo: z.string().max(200).optional().describe('github: owner/name of the repository'),
    githubContext: z.string().max(100).optional().describe('github: the status context (default devlab)'),
    onlyPassed: z.boolean().optional().describe('run.finished only for runs that passed'),
    query: z.string().max(2000).optional().describe('a test query: only events about a matching test'),
    partner: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .optional()
      .describe('an admin only: a hook for this partner\u2019s runs (absent: every partner\u2019s)'),
  })
  .strict();

const hookSchema = z.object({
  id: z.string(),
  partner: z
    .string()
    .nullable()
    .describe('whose runs it receives; null: every partner\u2019s (an admin\u2019s hook)'),
  url: z
    .string()
    .describe('where deliveries go (spinnaker: Gate\u2019s trigger URL; github: the statuses URL)'),
  events: z.array(hookEventSchema),
  query: z.string().nullable(),
  target: z.enum(HOOK_TARGETS),
  spinnakerSource: z.string().nullable(),
  githubRepo: z.string().nullable(),
  githubContext: z.string().nullable(),
  onlyPassed: z.boolean(),
  createdAt: z.number(),
});

const createdHookSchema = hookSchema.extend({
  secret: z.string().describe('the signing secret: shown this once, never again'),
});

const attemptSchema = z.object({
  attempt: z.number().int(),
  statusCode: z.number().int().nullable().describe('the receiver\u2019s HTTP status; null when none came'),
  durationMs: z.number(),
  error: z.string().nullable(),
  manual: z.boolean().describe('sent by a redelivery'),
  at: z.number(),
});

const deliverySchema = z.object({
  id: z.string().describe('the X-Devlab-Delivery header: the same on every attempt and redelivery'),
  hookId: z.string(),
  event: hookEventSchema,
  runId: z.string(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  createdAt: z.number(),
  updatedAt: z.number(),
  nextAttemptAt: z
    .number()
    .nullable()
    .describe('when a delivery waiting for a retry is tried next (epoch ms); null when it is not waiting'),
  log: z.array(attemptSchema),
});

const hookParams = z.object({ id: z.string().describe('hook id') });
const deliveryParams = z.object({ deliveryId: z.string().describe('delivery id') });

/** Only the fields a hook view names: never its secret. */
const hookView = (h: HookRow): z.infer<typeof hookSchema> => ({
  id: h.id,
  partner: h.partner,
  url: h.url,
  events: h.events,
  query: h.query,
  target: h.target,
  spinnakerSource: h.targetOptions.source ?? null,
  githubRepo: h.targetOptions.repo ?? null,
  githubContext: h.targetOptions.context ?? null,
  onlyPassed: h.onlyPassed,
  createdAt: h.createdAt,
});

const deliveryView = (d: DeliveryView): z.infer<typeof deliverySchema> => ({
  id: d.id,
  hookId: d.hookId,
  event: d.event,
  runId: d.runId,
  state: d.state,
  attempts: d.attempts,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  nextAttemptAt: d.nextAttemptAt,
  log: d.log.map(({ deliveryId: _d, ...a }) => a),
});

/**
 * `/api/hooks`: signed outbound webhooks. A partner token manages its own partner's hooks (another
 * partner's answers 404); an admin sees every hook and adds hooks for every partner's runs.
 */
export async function hookRoutes(app: FastifyInstance, { hooks }: HookRouteDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/api/hooks',
    {
      schema: {
        summary: 'Subscribe a URL to run events; answers the signing secret once',
        description:
          'Each delivery is a POST of JSON signed with HMAC-SHA256 of the raw body in `X-Devlab-Signature-256: ' +
          'sha256=<hex>`, with its id in `X-Devlab-Delivery` (the same on every retry). A URL whose host is ' +
          'not on the lab\u2019s allow-list (`hooks.allowHosts`) is refused with a 400 naming `url`. ' +
          '`target: spinnaker` POSTs Gate\u2019s webhook trigger payload (`parameters`, `artifacts`, ' +
          'top-level `verdict`/`build`/`runId`/`partner` for payload constraints) to ' +
          '`<url>/webhooks/webhook/<spinnakerSource>`; `target: github` sets a commit status on the run\u2019s ' +
          'build (a 40-hex SHA) in `githubRepo`, with the lab\u2019s token.',
        body: newHookSchema,
        response: {
          201: json('the hook, with its secret (shown once)', createdHookSchema),
          ...errors(400, 401, 429),
        },
      },
    },
    async (req, reply) => {
      const created = hooks.add(partnerScope(req.principal), req.body);
      return reply
        .code(201)
        .header('location', `/api/hooks/${created.id}`)
        .send({ ...hookView(created), secret: created.secret });
    },
  );

  api.get(
    '/api/hooks',
    {
      schema: {
        summary: 'Hooks (a partner token: its own); never their secrets',
        response: { 200: json('hooks', z.array(hookSchema)), ...errors(401, 429) },
      },
    },
    async (req) => hooks.list(partnerScope(req.principal)).map(hookView),
  );

  /** A route's options on one hook or delivery (named by `params`): its answers and the errors of a lookup. */
  const onOne = <S extends { summary: string; params: z.ZodType; response: object }>(schema: S) => ({
    schema: { ...schema, response: { ...schema.response, ...errors(400, 401, 404, 429) } },
  });

  api.get(
    '/api/hooks/:id',
    onOne({ summary: 'A hook', params: hookParams, response: { 200: json('the hook', hookSchema) } }),
    async (req) => hookView(hooks.hook(partnerScope(req.principal), req.params.id)),
  );

  api.delete(
    '/api/hooks/:id',
    onOne({
      summary: 'Remove a hook (its delivery log stays; pending deliveries are dropped)',
      params: hookParams,
      response: { 200: json('the removed hook', hookSchema) },
    }),
    async (req) => {
      const scope = partnerScope(req.principal);
      const hook = hooks.hook(scope, req.params.id);
      hooks.remove(scope, hook.id);
      return hookView(hook);
    },
  );

  api.get(
    '/api/hooks/:id/deliveries',
    onOne({
      summary: 'A hook\u2019s deliveries, newest first, each with its attempts (status, duration, error)',
      params: hookParams,
      querystring: z.object({ limit: z.string().optional().describe('how many, 1 to 500 (default 100)') }),
      response: { 200: json('deliveries', z.array(deliverySchema)) },
    }),
    async (req) => {
      const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 100) || 100));
      return (await hooks.deliveries(partnerScope(req.principal), req.params.id, limit)).map(deliveryView);
    },
  );

  api.get(
    '/api/hooks/deliveries/:deliveryId',
    onOne({
      summary: 'A delivery with its attempts',
      params: deliveryParams,
      response: { 200: json('the delivery', deliverySchema) },
    }),
    async (req) => deliveryView(await hooks.delivery(partnerScope(req.principal), req.params.deliveryId)),
  );

  api.post(
    '/api/hooks/deliveries/:deliveryId/redeliver',
    onOne({
      summary: 'Send a delivery again now: the same body and delivery id, a fresh retry schedule',
      params: deliveryParams,
      response: { 202: json('the delivery, queued again', deliverySchema) },
    }),
    async (req, reply) =>
      reply
        .code(202)
        .send(deliveryView(await hooks.redeliver(partnerScope(req.principal), req.params.deliveryId))),
  );
}
