import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { historyCsvStream } from '../../history/history-export.ts';
import type { ApiDeps } from '../api-deps.ts';
import { errors, raw } from '../openapi.ts';

const exportQuery = z.object({
  partner: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'admins: one partner\u2019s runs only (default: every partner\u2019s); a partner always gets its own',
    ),
});

/**
 * `GET /api/history.csv`: the lab's own history as the history CSV `devlab analysis report|evaluate`
 * read, streamed from the store (`devlab analysis export`). A partner's token gets its own runs only.
 */
export async function historyExportRoutes(app: FastifyInstance, { controlPlane }: ApiDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/history.csv',
    {
      schema: {
        summary:
          'The lab\u2019s history as a history CSV (a partner: its own runs; admins: every partner\u2019s)',
        querystring: exportQuery,
        response: { 200: raw('history CSV', 'text/csv'), ...errors(400, 401, 429) },
      },
    },
    async (req, reply) => {
      const partner = partnerScope(req.principal) ?? req.query.partner ?? null;
      const stream = historyCsvStream(controlPlane.store.db.name, partner);
      stream.on('error', (err) => req.log.error({ err, partner }, 'history export failed mid-stream'));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="history.csv"')
        .send(stream);
    },
  );
}
