import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { parseDuration, reservationRequestSchema } from '../../webdriver/reservation-duration.ts';
import { ReservationConflictError, type ReservationService } from '../../webdriver/reservation-service.ts';
import type { Reservation } from '../../webdriver/reservation-store.ts';
import { errors, json } from '../openapi.ts';
import { reservationSchema, reservationView as view } from '../reservation-view.ts';
import { errorSchema } from '../schemas.ts';

export interface ReservationRouteDeps {
  reservations: ReservationService;
  /** The longest a reservation may last (`webdriver.maxReservationMs`). */
  maxMs: number;
}

const idParams = z.object({ id: z.string().max(200).describe('reservation id') });

/**
 * Device reservations: a partner token reserves for its own partner, lists and ends its own (another
 * partner's answers 404); an admin sees and ends every one. Every token sees, in `GET /api/devices`, that a
 * device is reserved, by which partner and until when, never the reservation's id or URL.
 */
export async function reservationRoutes(
  app: FastifyInstance,
  { reservations, maxMs }: ReservationRouteDeps,
): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/api/devices/:id/reservations',
    {
      schema: {
        summary: 'Reserve an Appium device for a person, for a while; answers its WebDriver URL',
        description:
          'The reservation holds the device through the lease agents and WebDriver sessions take: no catalog ' +
          'test or other session gets it until it ends, by `DELETE /api/reservations/:id` or by itself at ' +
          '`until`. A device that another holder has (a test, a session, a reservation) is refused at once ' +
          'with a 409 saying who, rather than waited for.',
        params: z.object({ id: z.string().describe('device id') }),
        body: reservationRequestSchema(maxMs),
        response: {
          201: json('the reservation', reservationSchema),
          409: json(
            'the device is busy, reserved, or in a state that takes no work: `error` says which',
            errorSchema,
          ),
          ...errors(400, 401, 404, 413, 415, 422, 429),
        },
      },
    },
    async (req, reply) => {
      try {
        const created = await reservations.reserve({
          deviceId: req.params.id,
          // Validated by the schema: a duration of at least 1 s, at most the lab's limit.
          forMs: parseDuration(req.body.for)!,
          partner: req.principal?.partner ?? 'default',
          note: req.body.note,
        });
        return reply.code(201).header('location', `/api/reservations/${created.id}`).send(view(req, created));
      } catch (err) {
        if (err instanceof ReservationConflictError)
          return reply.code(409).send({ error: err.message, field: 'device' });
        throw err;
      }
    },
  );

  api.get(
    '/api/reservations',
    {
      schema: {
        summary:
          'Reservations not over yet (a partner token: its own; an admin: every one), soonest end first',
        response: { 200: json('reservations', z.array(reservationSchema)), ...errors(401, 429) },
      },
    },
    async (req) => (await reservations.list(partnerScope(req.principal))).map((r) => view(req, r)),
  );

  /** `/api/reservations/:id`: the reservation `act` answers for the id, in the caller's partner scope. */
  const byId = (
    method: 'GET' | 'DELETE',
    summary: string,
    answer: string,
    act: (id: string, scope: string | null) => Promise<Reservation>,
  ) =>
    api.route({
      method,
      url: '/api/reservations/:id',
      schema: {
        summary,
        params: idParams,
        response: { 200: json(answer, reservationSchema), ...errors(400, 401, 404, 429) },
      },
      handler: async (req) => view(req, await act(req.params.id, partnerScope(req.principal))),
    });
  byId('GET', 'A reservation', 'the reservation', (id, scope) => reservations.get(id, scope));
  byId(
    'DELETE',
    'End a reservation now: its open session ends, the device is free',
    'the ended reservation',
    (id, scope) => reservations.release(id, scope),
  );
}
