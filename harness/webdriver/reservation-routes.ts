import type { FastifyInstance } from 'fastify';
import type { ClientAuth } from './client-auth.ts';
import { clientGone, rawBody, sessionBody } from './client-request.ts';
import type { ReservedDevice } from './reservation-hold.ts';
import type { Caller, WebDriverService } from './webdriver-service.ts';

/** The reservations the endpoint opens sessions on (reservation-service.ts). */
export interface ReservedSessions {
  /** The caller's reservation, or a WebDriver error (`session not created`, 404) for a missing or another partner's. */
  reservedDevice(id: string, caller: Caller): Promise<ReservedDevice>;
}

const hide = { schema: { hide: true } };

/**
 * A reservation's WebDriver URL, `/wd/hub/reservations/<id>` (in the `/wd/hub` context: text bodies, W3C
 * errors): a client pointed there (`path: '/wd/hub/reservations/<id>'`) opens its sessions on exactly the
 * reserved device, at once, one at a time, for as long as the reservation lasts. Only the reservation's
 * partner (or an admin token; anyone when auth is off) may; another partner's token is answered as for a
 * reservation that does not exist.
 */
export function registerReservedSessionRoutes(
  wd: FastifyInstance,
  service: WebDriverService,
  reservations: ReservedSessions,
  auth: ClientAuth,
): void {
  type OnReservation = { Params: { reservation: string } };
  type OnSession = { Params: { reservation: string; id: string; '*': string } };

  wd.get<OnReservation>('/reservations/:reservation/status', hide, async (req) => {
    const reserved = await reservations.reservedDevice(
      req.params.reservation,
      auth.caller(req, 'session not created'),
    );
    return {
      value: {
        ready: true,
        message: `devlab: ${reserved.deviceId} is reserved for ${reserved.partner} until ${new Date(reserved.until).toISOString()}`,
      },
    };
  });

  wd.post<OnReservation>('/reservations/:reservation/session', hide, async (req, reply) => {
    const caller = auth.caller(req, 'session not created');
    const reserved = await reservations.reservedDevice(req.params.reservation, caller);
    const body = sessionBody(req);
    // The session is the reservation's partner's, whoever of those allowed opens it.
    const value = await service.create(
      body,
      { scope: reserved.partner, own: null },
      clientGone(reply),
      reserved,
    );
    return reply.send({ value });
  });

  wd.delete<OnSession>('/reservations/:reservation/session/:id', hide, async (req) => {
    await service.delete(req.params.id, auth.caller(req, 'invalid session id'));
    return { value: null };
  });

  wd.route<OnSession>({
    method: ['GET', 'POST', 'DELETE'],
    url: '/reservations/:reservation/session/:id/*',
    ...hide,
    handler: async (req, reply) => {
      const caller = auth.caller(req, 'invalid session id');
      const { reservation, id } = req.params;
      const prefix = `/reservations/${encodeURIComponent(reservation)}/session/${encodeURIComponent(id)}`;
      const path = req.url.split('?')[0]!;
      const at = path.indexOf(prefix);
      const rest = at >= 0 ? path.slice(at + prefix.length) : `/${req.params['*']}`;
      const answer = await service.command(id, caller, req.method, rest, rawBody(req), clientGone(reply));
      return reply.code(answer.status).type(answer.contentType).send(answer.body);
    },
  });
}
