import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../auth/principal.ts';
import type { ApiDeps } from '../app.ts';

/** What the report route needs: the failure-prediction report as HTML and as data. */
export interface ReportProvider {
  html(): Promise<string>;
  data(): Promise<unknown>;
}

/**
 * The failure-prediction report of the lab's history (risk heatmap, top risky pairs with reasons,
 * calibration, flaky tests). Under /api so that auth, when on, covers it; partners may only see their
 * own runs, so with auth on only admins read the whole lab's report.
 */
export function registerReportRoutes(app: FastifyInstance, { report }: ApiDeps): void {
  // Auth off: no principal, the lab is single-user. Auth on: the whole lab's report is for admins.
  const allowed = (principal: Principal | null): boolean => principal === null || principal.role === 'admin';
  app.get('/api/report', async (req, reply) => {
    if (!report) return reply.code(503).send({ error: 'no report provider configured' });
    if (!allowed(req.principal)) return reply.code(404).send({ error: 'not found' });
    return reply.type('text/html; charset=utf-8').send(await report.html());
  });
  app.get('/api/report.json', async (req, reply) => {
    if (!report) return reply.code(503).send({ error: 'no report provider configured' });
    if (!allowed(req.principal)) return reply.code(404).send({ error: 'not found' });
    return report.data();
  });
}
