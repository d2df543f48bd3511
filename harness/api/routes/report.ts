import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ReportData } from '../../../analysis/report/build.ts';
import { z } from 'zod';
import { type Principal, partnerScope } from '../../auth/principal.ts';
import type { ApiDeps } from '../api-deps.ts';
import { errors, json, raw } from '../openapi.ts';
import { reportSchema } from '../schemas.ts';

/** What the report route needs: the failure-prediction report as HTML and as data, of one partner's runs or (null) the lab's. */
export interface ReportProvider {
  html(partner: string | null): Promise<string>;
  data(partner: string | null): Promise<ReportData>;
}

const reportQuery = z.object({
  partner: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('admins: one partner\u2019s runs only (default: the whole lab); a partner always gets its own'),
});

/** Whose runs a request's report is of: a partner's own, always; an admin's (or auth off) the lab's or the asked partner's. */
function reportScope(principal: Principal | null, asked: string | undefined): string | null {
  return partnerScope(principal) ?? asked ?? null;
}

/**
 * The failure-prediction report of the lab's history (risk heatmap, top risky pairs with reasons,
 * calibration, flaky tests). Under /api so that auth, when on, covers it. A partner's token gets the
 * report of its own runs only; an admin (or anyone, auth off) the whole lab's, or one partner's with
 * `?partner=`.
 */
export async function reportRoutes(app: FastifyInstance, { report }: ApiDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const refusals = errors(400, 401, 429, 503);
  api.get(
    '/api/report',
    {
      schema: {
        summary: 'The failure-prediction report: a partner\u2019s own runs, or the lab\u2019s (admins)',
        querystring: reportQuery,
        response: { 200: raw('the report page', 'text/html'), ...refusals },
      },
    },
    async (req, reply) => {
      if (!report) return reply.code(503).send({ error: 'no report provider configured' });
      const html = await report.html(reportScope(req.principal, req.query.partner));
      return reply.type('text/html; charset=utf-8').send(html);
    },
  );
  api.get(
    '/api/report.json',
    {
      schema: {
        summary:
          'The failure-prediction report as data: a partner\u2019s own runs, or the lab\u2019s (admins)',
        querystring: reportQuery,
        response: { 200: json('the report', reportSchema), ...refusals },
      },
    },
    async (req, reply) => {
      if (!report) return reply.code(503).send({ error: 'no report provider configured' });
      return report.data(reportScope(req.principal, req.query.partner));
    },
  );
}
