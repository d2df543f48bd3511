import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAdmin } from '../../auth/principal.ts';
import { NotFoundError } from '../../errors.ts';
import type { ApiDeps } from '../app.ts';
import { parseBody } from '../parse-body.ts';
import { deviceActionSchema } from '../schemas.ts';

const ACTIONS = ['block', 'unblock', 'drain'] as const;

/** Any token may look at the inventory; only admins change device states. */
export function registerDeviceRoutes(app: FastifyInstance, { devices }: ApiDeps): void {
  const unavailable = (reply: FastifyReply) =>
    reply.code(503).send({ error: 'this control plane has no device inventory wired', field: 'devices' });

  app.get('/api/devices', async (_req, reply) => {
    if (!devices) return unavailable(reply);
    return devices.list();
  });

  for (const action of ACTIONS) {
    app.post(`/api/devices/:id/${action}`, async (req: FastifyRequest, reply) => {
      if (!isAdmin(req.principal))
        return reply.code(403).send({ error: `${action} needs an admin token`, field: 'authorization' });
      if (!devices) return unavailable(reply);
      const { id } = req.params as { id: string };
      const { reason } = parseBody(deviceActionSchema, req.body);
      const device = (await devices.list()).find((d) => d.id === id);
      if (!device) throw new NotFoundError('device', id);
      await devices[action](id, reason, req.principal ? `api:${req.principal.tokenId}` : 'api');
      return (await devices.list()).find((d) => d.id === id) ?? device;
    });
  }
}
