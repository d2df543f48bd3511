import { expect as assert } from 'expect';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { liveDevicesProvider } from '../../harness/api/live-devices.ts';
import { defineTest } from '../../suites/define-test.ts';
import { type AuthedApi, call, startAuthedApi } from '../api/authed-api.ts';
import { type LabHarness, startLabHarness, tableRanker } from '../support/lab-harness.ts';
import { CHROMIUM, CHROMIUM_ARGS, dockerUp, redisUp, requireService } from '../support/services.ts';
import { containerBox, shellTest } from '../support/container-box.ts';

// Every control plane on a Redis consumes the one shared results queue and drops reports of jobs it does
// not know, so a lab running elsewhere on the machine would swallow this file's reports. A Redis database
// of our own keeps these labs apart (an explicit DEVLAB_REDIS_URL still wins). Hoisted above the imports
// because test/support/services.ts reads the URL when it loads.
vi.hoisted(() => {
  process.env['DEVLAB_REDIS_URL'] ??= 'redis://127.0.0.1:6379/9';
});

// A model of its own so this pool's queue never meets another test file's.
const INVENTORY = `
devices:
${containerBox({ id: 'dash-box-1', name: 'Dashboard container box', model: 'dash-box', host: 'agent-dash' })}`;

const TESTS = [
  shellTest('dash.shell'),
  defineTest(
    {
      id: 'dash.broken',
      title: 'Expects the wrong uname',
      component: 'platform',
      owner: 'qa',
      requires: { drivers: ['docker'] },
    },
    async ({ container, attach }) => {
      const out = await container!.exec(['sh', '-c', 'echo "box log line"; uname -s']);
      attach('container.log', out.stdout);
      assert(out.stdout).toContain('Tizen');
    },
  ),
];

describe('the dashboard in headless Chromium against the real harness', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness;
  let api: AuthedApi;
  let browser: Browser;
  let page: Page;
  let token: string;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!up) return;
    const inventory = parseInventory(INVENTORY, 'dash.yaml');
    lab = await startLabHarness({
      inventory,
      tests: TESTS,
      registry: createDriverRegistry({}),
      agentIds: ['agent-dash'],
      appUrl: 'http://127.0.0.1:9/',
      ranker: tableRanker({ 'dash.broken': 0.9 }),
      // Queue first, so the runs page is seen changing from queued to the final status.
      deferAgents: true,
    });
    api = await startAuthedApi(lab, { devices: liveDevicesProvider(lab.redis, inventory) });
    token = api.tokens.create('acme').token;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    // Any script error or blocked resource (CSP) on the page fails the test.
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('401')) problems.push(m.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await lab?.close();
  });

  it.skipIf(!up)(
    'follows a run to its final status, opens its matrix, an attempt and an artifact',
    async () => {
      await page.goto(`${api.url}/`);
      await page.getByRole('status').filter({ hasText: 'paste a token' }).waitFor();
      await page.getByRole('textbox', { name: 'API token' }).fill(token);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('No runs yet.').waitFor();

      const res = await call(`${api.url}/api/runs`, token, { method: 'POST', body: { build: 'b-dash' } });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const status = page.locator(`tr[data-run="${id}"] td[data-status]`);
      await status.waitFor();
      expect(await status.getAttribute('data-status')).toBe('queued');

      await lab.startAgents();
      await page.locator(`tr[data-run="${id}"] td[data-status="failed"]`).waitFor({ timeout: 45_000 });
      expect(await page.locator(`tr[data-run="${id}"]`).textContent()).toContain('passed 1');

      await page.getByRole('link', { name: id }).click();
      const matrix = page.getByRole('table', { name: 'Test by device matrix' });
      await matrix.waitFor();
      const failedCell = matrix.getByRole('button', { name: /^dash\.broken on .+: failed$/ });
      expect(await failedCell.getAttribute('class')).toContain('failed');
      expect(await matrix.getByRole('button', { name: /^dash\.shell on .+: passed$/ }).count()).toBe(1);

      await failedCell.click();
      const attempts = page.getByRole('region', { name: 'Attempts' });
      await attempts.getByText('Attempt 1').waitFor();
      expect(await attempts.textContent()).toContain('Tizen');
      await attempts.getByRole('button', { name: 'container.log' }).click();
      const contents = page.getByLabel('Contents of container.log');
      await contents.waitFor();
      expect(await contents.textContent()).toContain('box log line');

      await page.getByRole('link', { name: 'Devices' }).click();
      const device = page.locator('tr[data-device="dash-box-1"]');
      await device.waitFor();
      expect(await device.textContent()).toMatch(/available|leased|busy/);
      expect(problems).toEqual([]);
    },
  );
});
