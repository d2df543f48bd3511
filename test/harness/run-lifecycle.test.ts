import { expect as assert } from 'expect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../devices/inventory/load.ts';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { defineTest } from '../../suites/define-test.ts';
import { LabHistory } from '../../harness/history/lab-history.ts';
import { ModelTrainer } from '../../harness/history/model-trainer.ts';
import { predictionReport } from '../../harness/history/prediction-report.ts';
import { type ButtonPage, serveButtonPage } from '../support/button-page.ts';
import { type LabHarness, startLabHarness, tableRanker, waitForRun } from '../support/lab-harness.ts';
import { dockerUp, redisUp, requireService } from '../support/services.ts';
import { containerBox, shellTest } from '../support/container-box.ts';

const INVENTORY = `
devices:
  - id: e2e-browser-1
    name: E2E browser one
    driver: browser
    model: e2e-web
    platform: web
    os: linux
    firmware: '1.0'
    host: agent-a
    capabilities: { codecs: [h264], resolution: 1080p, memoryMb: 4096, input: [pointer] }
    settings: { viewport: { width: 1280, height: 720 } }
${containerBox({ id: 'e2e-box-1', name: 'E2E container box', model: 'e2e-box', host: 'agent-a', image: 'devlab/e2e-box:1' })}`;

let flakyCalls = 0;
const TESTS = [
  defineTest(
    {
      id: 'e2e.click',
      title: 'Button counts clicks',
      component: 'ui',
      owner: 'qa',
      requires: { drivers: ['browser'] },
    },
    async ({ page, appUrl, step }) => {
      await step('open', () => page!.goto(appUrl));
      await page!.click('#go');
      assert(await page!.textContent('#out')).toBe('clicked 1');
    },
  ),
  defineTest(
    {
      id: 'e2e.broken',
      title: 'Expects the wrong text',
      component: 'ui',
      owner: 'qa',
      requires: { drivers: ['browser'] },
    },
    async ({ page, appUrl }) => {
      await page!.goto(appUrl);
      assert(await page!.textContent('#out')).toBe('clicked 99');
    },
  ),
  defineTest(
    {
      id: 'e2e.flaky',
      title: 'Fails once, then passes',
      component: 'ui',
      owner: 'qa',
      retries: 2,
      requires: { drivers: ['browser'] },
    },
    async ({ page, appUrl }) => {
      await page!.goto(appUrl);
      flakyCalls++;
      assert(flakyCalls).toBeGreaterThan(1);
    },
  ),
  shellTest('e2e.shell'),
];

describe('a run through the whole harness (real Redis, SQLite, HTTP API, Playwright and Docker devices)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let page: ButtonPage;
  let lab: LabHarness;

  beforeAll(async () => {
    if (!up) return;
    page = await serveButtonPage();
    lab = await startLabHarness({
      inventory: parseInventory(INVENTORY, 'e2e.yaml'),
      tests: TESTS,
      registry: createDriverRegistry({}),
      agentIds: ['agent-a'],
      appUrl: page.url,
      ranker: tableRanker({ 'e2e.broken': 0.9, 'e2e.flaky': 0.5, 'e2e.click': 0.1 }),
    });
  });
  afterAll(async () => {
    await lab?.close();
    await page?.close();
  });

  it.skipIf(!up)('plans, ranks, runs, retries and records exactly one verdict per job', async () => {
    const res = await fetch(`${lab.apiUrl}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partner: 'acme', priority: 'ci-pr', build: 'b-1' }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; jobs: { testId: string; pool: string }[] };
    expect(created.jobs.map((j) => j.testId)).toEqual(['e2e.broken', 'e2e.flaky', 'e2e.click', 'e2e.shell']);

    const status = await waitForRun(lab.store, created.id, 90_000);
    expect(status).toBe('failed');
    const results = (await (await fetch(`${lab.apiUrl}/api/runs/${created.id}/results`)).json()) as {
      run: { pipelineStatus: string; counts: Record<string, number> };
      jobs: {
        testId: string;
        verdict: string;
        attempts: number;
        signature: string | null;
        artifacts: { url: string; name: string }[];
      }[];
    };
    const byTest = Object.fromEntries(results.jobs.map((j) => [j.testId, j]));
    expect(byTest['e2e.click']?.verdict).toBe('passed');
    expect(byTest['e2e.broken']?.verdict).toBe('failed');
    expect(byTest['e2e.broken']?.signature).toMatch(/^[0-9a-f]{12}$/);
    expect(byTest['e2e.flaky']?.verdict).toBe('flaky');
    expect(byTest['e2e.flaky']?.attempts).toBe(2);
    expect(byTest['e2e.shell']?.verdict).toBe('passed');
    expect(results.run.pipelineStatus).toBe('TERMINAL');
    expect(results.run.counts).toEqual({ passed: 2, failed: 1, flaky: 1 });

    const shellLog = byTest['e2e.shell']!.artifacts.find((a) => a.name === 'exec.txt');
    expect(shellLog).toBeDefined();
    expect((await (await fetch(`${lab.apiUrl}${shellLog!.url}`)).text()).trim()).toBe('ready');
    const junit = await (await fetch(`${lab.apiUrl}/api/runs/${created.id}/junit`)).text();
    expect(junit).toContain('<testcase name="e2e.broken"');
    expect(junit).toMatch(/<failure message="[^"]*clicked 99/);

    const events = lab.store.events.since(created.id).map((e) => e.type);
    expect(events[0]).toBe('run.created');
    expect(events.at(-1)).toBe('run.finished');
    expect(events.filter((t) => t === 'job.finished')).toHaveLength(4);
    expect(events).toContain('job.retry');
  });

  it.skipIf(!up)('ignores a report delivered twice: one attempt row, one verdict', async () => {
    const run = lab.store.runs.list({ limit: 1 })[0]!;
    const job = lab.store.jobs.listByRun(run.id).find((j) => j.testId === 'e2e.broken')!;
    const before = lab.store.attempts.listByJob(job.id);
    const last = before.at(-1)!;
    await lab.controlPlane.onReport({
      runId: run.id,
      jobId: job.id,
      attempt: last.attempt,
      deviceId: last.deviceId,
      agent: last.agent,
      status: 'passed',
      startedAt: last.startedAt,
      endedAt: last.endedAt,
      artifacts: [],
      cases: [],
    });
    expect(lab.store.attempts.listByJob(job.id)).toEqual(before);
    expect(lab.store.jobs.get(job.id)?.verdict).toBe('failed');
  });

  it.skipIf(!up)(
    'reports failure predictions from the run history (self-contained HTML with charts)',
    async () => {
      const history = new LabHistory(lab.store, { windowDays: 90, maxRows: 1_000_000 });
      history.load();
      const storeFile = lab.store.db.name;
      const trainer = ModelTrainer.forHome(lab.home, { storeFile, bounds: () => history.bounds() });
      const html = await predictionReport(storeFile, history, trainer).html(null);
      expect(html).toContain('<svg');
      expect(html).toContain('e2e.broken');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
    },
  );
});
