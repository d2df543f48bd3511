import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../openapi.ts';

export function registerOpenApiRoute(app: FastifyInstance): void {
  // Built once: the schemas are static for the life of the process.
  const document = openApiDocument();
  app.get('/api/openapi.json', async () => document);
}
