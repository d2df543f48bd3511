import type { FastifyInstance } from 'fastify';
import type { TokensRepo } from '../store/tokens-repo.ts';
import { ClientAuth } from './client-auth.ts';
import { clientGone, rawBody, sessionBody } from './client-request.ts';
import { type ReservedSessions, registerReservedSessionRoutes } from './reservation-routes.ts';
import { WebDriverError } from './webdriver-error.ts';
import type { WebDriverService } from './webdriver-service.ts';

/** Where WebDriver clients point (`remote({ hostname, port, path: '/wd/hub' })`). */
export const WEBDRIVER_PATH = '/wd/hub';
/** A command body (an upload of a file through Appium is base64 in JSON) is at most this big. */
const MAX_BODY = 64 * 1024 * 1024;

export interface WebDriverRouteOptions {
  /** Partner tokens required (the API's `api.auth`). */
  auth: boolean;
  tokens: TokensRepo;
  /** Device reservations: sessions at `/wd/hub/reservations/<id>` (reservation-routes.ts). */
  reservations?: ReservedSessions;
}

/**
 * The W3C WebDriver endpoint under `/wd/hub`, in a context of its own: bodies are taken as text (they are
 * sent on to Appium as they came), every error is a W3C error body, and the routes are not in the API's
 * OpenAPI document (the protocol is the W3C's).
 */
export function registerWebDriverRoutes(
  app: FastifyInstance,
  service: WebDriverService,
  options: WebDriverRouteOptions,
): void {
  const auth = new ClientAuth(options.tokens, options.auth);
  app.register(
    async (wd) => {
      wd.removeAllContentTypeParsers();
      wd.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY }, (_req, body, done) =>
        done(null, body),
      );
      wd.setErrorHandler((err, req, reply) => {
        if (err instanceof WebDriverError) {
          if (err.status === 401)
            reply.header('www-authenticate', 'Basic realm="devlab", Bearer realm="devlab"');
          return reply.code(err.status).send(err.body());
        }
        const status = (err as { statusCode?: number }).statusCode;
        if (status && status >= 400 && status < 500)
          return reply
            .code(status)
            .send(new WebDriverError('invalid argument', (err as Error).message, status).body());
        req.log.error(
          { err, method: req.method, route: req.routeOptions.url ?? null },
          'webdriver request failed: unexpected error',
        );
        return reply.code(500).send(new WebDriverError('unknown error', 'internal error').body());
      });
      // A client's unknown path: a W3C `unknown command`, not the API's JSON 404.
      wd.setNotFoundHandler((req, reply) =>
        reply
          .code(404)
          .send(
            new WebDriverError(
              'unknown command',
              `${req.method} ${req.url.split('?')[0]} is not a WebDriver command here`,
            ).body(),
          ),
      );
      const hide = { schema: { hide: true } };

      wd.get('/status', hide, async () => ({
        value: {
          ready: true,
          message: 'devlab: sessions wait for a matching device',
          queued: service.queue.queued.length,
        },
      }));

      wd.post('/session', hide, async (req, reply) => {
        const caller = auth.caller(req, 'session not created');
        const body = sessionBody(req);
        return reply.send({ value: await service.create(body, caller, clientGone(reply)) });
      });

      wd.delete<{ Params: { id: string } }>('/session/:id', hide, async (req) => {
        await service.delete(req.params.id, auth.caller(req, 'invalid session id'));
        return { value: null };
      });

      wd.route<{ Params: { id: string; '*': string } }>({
        method: ['GET', 'POST', 'DELETE'],
        url: '/session/:id/*',
        ...hide,
        handler: async (req, reply) => {
          const caller = auth.caller(req, 'invalid session id');
          const prefix = `${WEBDRIVER_PATH}/session/${encodeURIComponent(req.params.id)}`;
          const path = req.url.split('?')[0]!;
          const rest = path.startsWith(prefix) ? path.slice(prefix.length) : `/${req.params['*']}`;
          const answer = await service.command(
            req.params.id,
            caller,
            req.method,
            rest,
            rawBody(req),
            clientGone(reply),
          );
          return reply.code(answer.status).type(answer.contentType).send(answer.body);
        },
      });

      if (options.reservations) registerReservedSessionRoutes(wd, service, options.reservations, auth);
    },
    { prefix: WEBDRIVER_PATH },
  );
}
