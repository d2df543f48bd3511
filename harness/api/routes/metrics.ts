import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LabMetrics } from '../../metrics/lab-metrics.ts';
import type { TokensRepo } from '../../store/tokens-repo.ts';

/** What `GET /metrics` serves, and whether (`auth`) a client off this machine needs an admin token. */
export interface MetricsRouteOptions {
  metrics: LabMetrics;
  auth: boolean;
  tokens: TokensRepo;
}

/** Addresses of this machine: a Prometheus (or an agent's node exporter) scraping from the same host. */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function isLoopback(ip: string): boolean {
  return LOOPBACK.test(ip);
}

function bearer(req: FastifyRequest): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

/**
 * `GET /metrics` in the Prometheus text format. It holds no partner's data (counts by pool, state,
 * outcome), but it says how busy the lab is: with API auth on, only a client on this machine (loopback)
 * scrapes it without a token; any other needs an admin token (Prometheus's `authorization` setting).
 * With auth off, it is open like the rest of the API. Not part of the OpenAPI document (it is not JSON).
 */
export async function metricsRoute(app: FastifyInstance, access: MetricsRouteOptions): Promise<void> {
  const { metrics } = access;
  app.get(
    '/metrics',
    {
      onRequest: async (req, reply) => {
        if (!access.auth || isLoopback(req.ip)) return;
        const token = bearer(req);
        const row = token === null ? undefined : access.tokens.verify(token);
        if (!row) {
          reply.header('www-authenticate', 'Bearer realm="devlab"');
          return reply.code(401).send({ error: 'metrics: an admin token is required off this machine' });
        }
        if (row.role !== 'admin')
          return reply.code(403).send({ error: 'metrics: an admin token is required' });
      },
    },
    async (_req, reply) => {
      const text = await metrics.scrape();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
