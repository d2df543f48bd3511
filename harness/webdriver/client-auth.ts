import type { FastifyRequest } from 'fastify';
import { FailureWindow } from '../auth/failure-window.ts';
import { partnerScope } from '../auth/principal.ts';
import type { TokensRepo } from '../store/tokens-repo.ts';
import type { Caller } from './webdriver-service.ts';
import { WebDriverError } from './webdriver-error.ts';

/**
 * The token a WebDriver client sent: `Authorization: Bearer <token>`, or Basic credentials whose password
 * is the token (what a client that only takes a URL sends for `http://<partner>:<token>@host:7420/wd/hub`;
 * WebdriverIO's `user`/`key` too). The user name is not checked: the token says who it is.
 */
export function clientToken(header: string | undefined): string | null | undefined {
  if (header === undefined) return undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return null;
  const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  const password = colon < 0 ? '' : text.slice(colon + 1);
  return password || null;
}

/**
 * Who a WebDriver request acts for. With auth off, anyone (the partner is `devlab:partner`, else `default`).
 * With auth on, a live partner or admin token (the API's tokens); bad tokens count against the client's
 * address like the API's, and past the limit answer 429. The token itself is never logged or kept.
 */
export class ClientAuth {
  private readonly failures: FailureWindow;

  constructor(
    private readonly tokens: TokensRepo,
    private readonly enabled: boolean,
    maxFailuresPerMinute = 20,
  ) {
    this.failures = new FailureWindow(maxFailuresPerMinute);
  }

  caller(req: FastifyRequest, what: 'session not created' | 'invalid session id'): Caller {
    if (!this.enabled) return { scope: null, own: null };
    const token = clientToken(req.headers.authorization);
    // WebdriverIO's `user`/`key` go with the new-session request only: a command without credentials is
    // let through on its session id (random, answered to the session's creator only, shown nowhere else).
    if (token === undefined && what === 'invalid session id') return { scope: null, own: null };
    if (token === undefined)
      throw new WebDriverError(
        what,
        'authorization: a partner token is required (Bearer, or the password of the URL)',
        401,
      );
    const row = token === null ? undefined : this.tokens.verify(token);
    if (!row) {
      const throttled = this.failures.blocked(req.ip);
      this.failures.record(req.ip);
      if (throttled) throw new WebDriverError(what, 'too many failed authentication attempts', 429);
      throw new WebDriverError(what, 'authorization: invalid or revoked token', 401);
    }
    const principal = { tokenId: row.id, partner: row.partner, role: row.role };
    return { scope: partnerScope(principal), own: row.role === 'admin' ? row.partner : null };
  }
}
