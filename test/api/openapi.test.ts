import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApi } from '../../harness/api/app.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { runRequestSchema } from '../../harness/protocol/run-request.ts';
import { type LabHarness, startLabHarness } from '../support/lab-harness.ts';
import { redisUp, requireService } from '../support/services.ts';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import type { FastifyInstance } from 'fastify';

// Every control plane on a Redis consumes the one shared results queue and drops reports of jobs it does
// not know, so a lab running elsewhere on the machine would swallow this file's reports. A Redis database
// of our own keeps these labs apart (an explicit DEVLAB_REDIS_URL still wins). Hoisted above the imports
// because test/support/services.ts reads the URL when it loads.
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

describe('the OpenAPI document', async () => {
  const up = await requireService('Redis', redisUp);
  let lab: LabHarness;
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: [],
      tests: [],
      registry: createDriverRegistry({}),
      agentIds: [],
      appUrl: 'http://127.0.0.1:9/',
    });
    app = buildApi({
      controlPlane: lab.controlPlane,
      artifacts: new ArtifactStore(lab.home, lab.store.artifacts),
      auth: { enabled: true },
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await lab?.close();
  });

  it.skipIf(!up)(
    'is served without a token as OpenAPI 3.1 JSON with /api/runs and the run request schema',
    async () => {
      const res = await fetch(`${url}/api/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/json');
      const doc = JSON.parse(await res.text()) as {
        openapi: string;
        paths: Record<
          string,
          Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
        >;
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/runs',
          '/api/runs/preview',
          '/api/runs/{id}',
          '/api/artifacts/{id}',
          '/api/devices',
        ]),
      );
      expect(
        doc.paths['/api/runs/preview']!['post']!.requestBody!.content['application/json']!.schema,
      ).toEqual({
        $ref: '#/components/schemas/RunRequest',
      });
      expect(Object.keys(doc.components.schemas['PlanPreview']?.properties ?? {}).sort()).toEqual([
        'budget',
        'jobs',
        'ranker',
        'unplanned',
      ]);
      expect(doc.paths['/api/runs']!['post']!.requestBody!.content['application/json']!.schema).toEqual({
        $ref: '#/components/schemas/RunRequest',
      });
      const request = doc.components.schemas['RunRequest']!;
      expect(Object.keys(request.properties ?? {}).sort()).toEqual(
        ['build', 'options', 'partner', 'priority', 'query', 'select'].sort(),
      );

      // The published schema and the zod schema the route validates with agree on real bodies.
      const validate = new Ajv2020({ strict: false }).compile(request);
      const bodies: unknown[] = [
        {},
        { query: 'tag:smoke', priority: 'ci-pr', options: { retries: 1 } },
        { priority: 'urgent' },
        { partner: 'Not Valid' },
        { options: { retries: -1 } },
        { colour: 'red' },
      ];
      for (const body of bodies)
        expect([body, validate(body)]).toEqual([body, runRequestSchema.safeParse(body).success]);
    },
  );
});
