import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokensRepo } from '../store/tokens-repo.ts';
import { FailureWindow } from './failure-window.ts';
import type { Principal } from './principal.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthOptions {
  enabled: boolean;
  /** Failed token checks allowed per client IP per minute before answering 429. */
  maxFailuresPerMinute?: number;
  /** `/api/*` paths served without a token (monitoring and the API description). */
  publicPaths?: readonly string[];
}

export const DEFAULT_PUBLIC_PATHS = ['/api/health', '/api/openapi.json'] as const;

function bearer(req: FastifyRequest): string | null | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/**
 * Every `/api/*` request must carry a live bearer token; the token's partner and role become
 * `req.principal`. Bad tokens count against the client IP: past the limit a bad token from that IP
 * answers 429 (with Retry-After) until the window slides. A valid token is never refused by the
 * throttle: behind one NAT or proxy, someone else's bad tokens cannot lock a partner or an admin out.
 * (Tokens carry 256 random bits: the throttle keeps guessers' noise down, their odds are nil anyway.)
 */
export function registerAuth(app: FastifyInstance, tokens: TokensRepo, options: AuthOptions): void {
  app.decorateRequest('principal', null);
  if (!options.enabled) return;
  const failures = new FailureWindow(options.maxFailuresPerMinute ?? 20);
  const open = new Set(options.publicPaths ?? DEFAULT_PUBLIC_PATHS);

  const deny = (reply: FastifyReply, status: 401 | 429, error: string, ip: string) => {
    if (status === 429) reply.header('retry-after', String(failures.retryAfterS(ip)));
    else reply.header('www-authenticate', 'Bearer realm="devlab"');
    return reply.code(status).send({ error, field: 'authorization' });
  };

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    // The router decodes percent escapes (`/%61pi/runs` is `/api/runs`): judge by the matched route too.
    const route = req.routeOptions.url ?? '';
    if (!(path.startsWith('/api/') || route.startsWith('/api/')) || open.has(path)) return;
    const ip = req.ip;
    const token = bearer(req);
    if (token === undefined) return deny(reply, 401, 'authorization: a Bearer token is required', ip);
    const row = token === null ? undefined : tokens.verify(token);
    if (!row) {
      const throttled = failures.blocked(ip);
      failures.record(ip);
      if (throttled) return deny(reply, 429, 'too many failed authentication attempts', ip);
      return deny(reply, 401, 'authorization: invalid or revoked token', ip);
    }
    req.principal = { tokenId: row.id, partner: row.partner, role: row.role };
  });
}
