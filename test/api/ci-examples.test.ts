import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type LabHarness, startLabHarness } from '../support/lab-harness.ts';
import { redisUp, requireService } from '../support/services.ts';
import { type AuthedApi, call, startAuthedApi } from './authed-api.ts';

// Every control plane on a Redis consumes the one shared results queue and drops reports of jobs it does
// not know, so a lab running elsewhere on the machine would swallow this file's reports. A Redis database
// of our own keeps these labs apart (an explicit DEVLAB_REDIS_URL still wins). Hoisted above the imports
// because test/support/services.ts reads the URL when it loads.
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

const ci = (name: string) => readFileSync(path.join(PROJECT_ROOT, 'docs/ci', name), 'utf8');

interface WebhookStage {
  method: string;
  url: string;
  payload: Record<string, unknown>;
  statusUrlResolution: string;
  statusUrlJsonPath: string;
  statusJsonPath: string;
  successStatuses: string;
  terminalStatuses: string;
}

/** The `$.a` JSON paths the stage uses are single keys; anything deeper would need a JSONPath engine. */
const at = (doc: Record<string, unknown>, jsonPath: string) => doc[jsonPath.replace(/^\$\./, '')];

describe('the CI examples in docs/ci work against the real API', async () => {
  const up = await requireService('Redis', redisUp);
  let lab: LabHarness;
  let api: AuthedApi;
  let token: string;

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: [],
      // The stage's query (tag:smoke) selects this test; no device can run it, so nothing is queued.
      tests: [
        {
          id: 'ci.smoke',
          title: 'smoke',
          tags: ['smoke'],
          component: 'app',
          owner: 'qa',
          priority: 1,
          timeoutMs: 1000,
          retries: 0,
          requires: {},
          body: async () => {},
        },
      ],
      registry: createDriverRegistry({}),
      agentIds: [],
      appUrl: 'http://127.0.0.1:9/',
    });
    api = await startAuthedApi(lab);
    token = api.tokens.create('spinnaker-partner').token;
  });
  afterAll(async () => {
    await api?.close();
    await lab?.close();
  });

  it.skipIf(!up)(
    'the Spinnaker stage posts a valid run and finds a status URL and a mapped status',
    async () => {
      const stage = JSON.parse(ci('spinnaker-webhook-stage.json')) as WebhookStage;
      expect(stage.method).toBe('POST');
      expect(new URL(stage.url).pathname).toBe('/api/runs');
      expect(stage.statusUrlResolution).toBe('webhookResponse');
      // The SpEL expression is Spinnaker's to evaluate; give it a plain value here.
      const payload = { ...stage.payload, build: 'b-42' };
      const res = await call(`${api.url}/api/runs`, token, { method: 'POST', body: payload });
      expect(res.status).toBe(201);
      const created = (await res.json()) as Record<string, unknown>;
      const statusUrl = at(created, stage.statusUrlJsonPath);
      expect(statusUrl).toBe(`${api.url}/api/runs/${created['id']}`);
      const polled = (await (await call(String(statusUrl), token)).json()) as Record<string, unknown>;
      const status = at(polled, stage.statusJsonPath);
      expect([stage.successStatuses, stage.terminalStatuses, 'RUNNING']).toContain(status);
      expect(polled['partner']).toBe('spinnaker-partner');
    },
  );

  it('the GitHub Actions job waits for the run, writes JUnit and keeps it even on failure', () => {
    const workflow = parse(ci('github-actions.yml')) as {
      jobs: Record<
        string,
        {
          env: Record<string, string>;
          steps: { run?: string; uses?: string; if?: string; with?: Record<string, string> }[];
        }
      >;
    };
    const job = Object.values(workflow.jobs)[0]!;
    expect(job.env['DEVLAB_TOKEN']).toContain('secrets.');
    const submit = job.steps.find((s) => s.run?.includes('devlab run submit'))!;
    expect(submit.run).toMatch(/^npx devlab run submit /);
    expect(submit.run).toContain('--wait');
    expect(submit.run).toContain('--junit report.xml');
    const keep = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(keep.if).toBe('always()');
    expect(keep.with?.['path']).toBe('report.xml');
  });
});
