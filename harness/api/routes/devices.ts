import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isAdmin } from '../../auth/principal.ts';
import { NotFoundError } from '../../errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import type { DeviceView } from '../devices-provider.ts';
import { errors, json } from '../openapi.ts';
import { deviceActionSchema, deviceViewSchema, type SameKeys } from '../schemas.ts';

const ACTIONS = ['block', 'unblock', 'drain'] as const;

// Every field of a device view is shown: one added to it must be added to the schema too.
const deviceFieldsShown: SameKeys<DeviceView, z.output<typeof deviceViewSchema>> = true;
void deviceFieldsShown;

/** Any token may look at the inventory; only admins change device states. */
export async function deviceRoutes(app: FastifyInstance, { devices }: ApiDeps): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const unavailable = (reply: FastifyReply) =>
    reply.code(503).send({ error: 'this control plane has no device inventory wired', field: 'devices' });

  api.get(
    '/api/devices',
    {
      schema: {
        summary: 'Inventory with live states (driver settings with their secrets masked)',
        response: { 200: json('devices', z.array(deviceViewSchema)), ...errors(401, 429, 503) },
      },
    },
    async (_req, reply) => {
      if (!devices) return unavailable(reply);
      return devices.list();
    },
  );

  for (const action of ACTIONS) {
    api.post(
      `/api/devices/:id/${action}`,
      {
        // Before the body is validated: a partner token gets its 403 whatever it sent.
        preValidation: async (req: FastifyRequest, reply: FastifyReply) => {
          if (!isAdmin(req.principal))
            return reply.code(403).send({ error: `${action} needs an admin token`, field: 'authorization' });
          if (!devices) return unavailable(reply);
          req.body ??= {};
        },
        schema: {
          summary: `${action} a device (admin token); the reason goes to the device's transition log`,
          params: z.object({ id: z.string().describe('device id') }),
          body: deviceActionSchema,
          response: {
            200: json('the device', deviceViewSchema),
            ...errors(400, 401, 403, 404, 409, 413, 415, 429, 503),
          },
        },
      },
      async (req) => {
        const { id } = req.params;
        // Without a provider the preValidation hook has answered 503.
        const provider = devices!;
        const device = (await provider.list()).find((d) => d.id === id);
        if (!device) throw new NotFoundError('device', id);
        await provider[action](id, req.body.reason, req.principal ? `api:${req.principal.tokenId}` : 'api');
        return (await provider.list()).find((d) => d.id === id) ?? device;
      },
    );
  }
}
