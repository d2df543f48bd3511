import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ReportData } from '../../../analysis/report/build.ts';
import type { Principal } from '../../auth/principal.ts';
import type { ApiDeps } from '../app.ts';
import { errors, json, raw } from '../openapi.ts';
import { reportSchema } from '../schemas.ts';

/** What the report route needs: the failure-prediction report as HTML and as data. */
export interface ReportProvider {
  html(): Promise<string>;
  data(): Promise<ReportData>;
}

/**
 * The failure-prediction report of the lab's history (risk heatmap, top risky pairs with reasons,
 * calibration, flaky tests). Under /api so that auth, when on, covers it; partners may only see their
 * own runs, so with auth on only admins read the whole lab's report.
 */
export function registerReportRoutes(app: FastifyInstance, { report }: ApiDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // Auth off: no principal, the lab is single-user. Auth on: the whole lab's report is for admins.
  const allowed = (principal: Principal | null): boolean => principal === null || principal.role === 'admin';
  const refusals = errors(401, 404, 429, 503);
  api.get(
    '/api/report',
    {
      schema: {
        summary: 'The failure-prediction report of the lab\u2019s history (admins, when auth is on)',
        response: { 200: raw('the report page', 'text/html'), ...refusals },
      },
    },
    async (req, reply) => {
      if (!report) return reply.code(503).send({ error: 'no report provider configured' });
      if (!allowed(req.principal)) return reply.code(404).send({ error: 'not found' });
      return reply.type('text/html; charset=utf-8').send(await report.html());
    },
  );
  api.get(
    '/api/report.json',
    {
      schema: {
        summary: 'The failure-prediction report as data (admins, when auth is on)',
        response: { 200: json('the report', reportSchema), ...refusals },
      },
    },
    async (req, reply) => {
      if (!report) return reply.code(503).send({ error: 'no report provider configured' });
      if (!allowed(req.principal)) return reply.code(404).send({ error: 'not found' });
      return report.data();
    },
  );
}
