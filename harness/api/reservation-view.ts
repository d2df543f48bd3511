import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Reservation } from '../webdriver/reservation-store.ts';
import { WEBDRIVER_PATH } from '../webdriver/routes.ts';

/** A reservation as the API answers it (`api/routes/reservations.ts`; `devlab devices reserve` reads it). */
export const reservationSchema = z.object({
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
export type ReservationView = z.infer<typeof reservationSchema>;

/** The reservation's WebDriver URL on the address the client reached the API at. */
export const reservationView = (req: FastifyRequest, r: Reservation): ReservationView => ({
  id: r.id,
  device: r.deviceId,
  partner: r.partner,
  note: r.note,
  createdAt: r.createdAt,
  until: r.until,
  webdriverUrl: `${req.protocol}://${req.host}${WEBDRIVER_PATH}/reservations/${encodeURIComponent(r.id)}`,
});
