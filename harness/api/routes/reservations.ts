import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partnerScope } from '../../auth/principal.ts';
import { parseDuration, reservationRequestSchema } from '../../webdriver/reservation-duration.ts';
import { ReservationConflictError, type ReservationService } from '../../webdriver/reservation-service.ts';
import type { Reservation } from '../../webdriver/reservation-store.ts';
import { WEBDRIVER_PATH } from '../../webdriver/routes.ts';
import { errors, json } from '../openapi.ts';
import { errorSchema } from '../schemas.ts';

export interface ReservationRouteDeps {
  reservations: ReservationService;
  /** The longest a reservation may last (`webdriver.maxReservationMs`). */
  maxMs: number;
}

const reservationSchema = z.object({
  id: z.string(),
  device: z.string().describe('the reserved device'),
  partner: z.string().describe('whose it is'),
  note: z.string().nullable(),
  createdAt: z.number(),
  until: z.number().describe('when it ends by itself (epoch ms)'),
  webdriverUrl: z
    .string()
    .describe(
      'where its holder points a WebDriver client (with the partner token as Bearer, or as the URL password): sessions on exactly this device',
    ),
});

/** The reservation's WebDriver URL on the address the client reached the API at. */
const view = (req: FastifyRequest, r: Reservation): z.infer<typeof reservationSchema> => ({
  id: r.id,
  device: r.deviceId,
  partner: r.partner,
  note: r.note,
  createdAt: r.createdAt,
  until: r.until,
  webdriverUrl: `${req.protocol}://${req.host}${WEBDRIVER_PATH}/reservations/${encodeURIComponent(r.id)}`,
});

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

  api.get(
    '/api/reservations/:id',
    {
      schema: {
        summary: 'A reservation',
        params: idParams,
        response: { 200: json('the reservation', reservationSchema), ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => view(req, await reservations.get(req.params.id, partnerScope(req.principal))),
  );

  api.delete(
    '/api/reservations/:id',
    {
      schema: {
        summary: 'End a reservation now: its open session ends, the device is free',
        params: idParams,
        response: { 200: json('the ended reservation', reservationSchema), ...errors(400, 401, 404, 429) },
      },
    },
    async (req) => view(req, await reservations.release(req.params.id, partnerScope(req.principal))),
  );
}
