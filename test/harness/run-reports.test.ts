import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHistoryCsv } from '../../analysis/history/csv.ts';
import { importHistory } from '../../analysis/history/summary.ts';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { LabHistory } from '../../harness/history/lab-history.ts';
import { ModelTrainer } from '../../harness/history/model-trainer.ts';
import { predictionReport } from '../../harness/history/prediction-report.ts';
import { defineTest } from '../../suites/define-test.ts';
import { loadManifestText } from '../../suites/manifest/load-manifest.ts';
import { type AuthedApi, call, startAuthedApi } from '../api/authed-api.ts';
import { containerBox, shellTest } from '../support/container-box.ts';
import { type LabHarness, startLabHarness, waitForRun } from '../support/lab-harness.ts';
import { CHROMIUM, CHROMIUM_ARGS, dockerUp, redisUp, requireService } from '../support/services.ts';

// Two container boxes of two models: two pools, each test runs on both devices.
const INVENTORY = `
devices:
${containerBox({ id: 'rep-box-a', name: 'Report box A', model: 'rep-model-a', host: 'agent-rep' })}
${containerBox({ id: 'rep-box-b', name: 'Report box B', model: 'rep-model-b', host: 'agent-rep' })}`;

// A container manifest whose runner reports 2 cases, one failing, and exits 1.
const JUNIT =
  '<testsuite name="rep"><testcase name="ok" classname="rep"/><testcase name="bad" classname="rep">' +
  '<failure message="boom on the box"/></testcase></testsuite>';
const MANIFEST = `id: rep.cases
title: Two cases, one failing
component: platform
owner: qa
image: devlab/stb-reference:1
command:
  - sh
  - -c
  - |
    printf '%s' '${JUNIT}' > /tmp/junit.xml
    exit 1
requires: { drivers: [docker] }
results: /tmp/junit.xml
`;

const TESTS = [
  shellTest('rep.shell'),
  loadManifestText(MANIFEST, 'rep.manifest.yaml'),
  // No device of this lab is an Appium TV: planned on none, reported as unrunnable.
  defineTest(
    {
      id: 'rep.tv-only',
      title: 'Needs a TV',
      component: 'ui',
      owner: 'qa',
      requires: { drivers: ['appium'] },
    },
    async () => {},
  ),
];

describe('what a run reports: JUnit by device, full failure text, unrunnable tests, history export, partner report', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const scratch = mkdtempSync(path.join(tmpdir(), 'devlab-run-reports-'));
  let lab: LabHarness;
  let authed: AuthedApi;
  let browser: Browser | undefined;
  let runId = '';
  let junit = '';

  /** The CLI as its own process, against the lab's API (auth off). */
  const cli = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(PROJECT_ROOT, 'harness/cli/devlab.js'), ...args, '--server', lab.apiUrl],
        { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: parseInventory(INVENTORY, 'rep.yaml'),
      tests: TESTS,
      registry: createDriverRegistry({}),
      agentIds: ['agent-rep'],
      appUrl: 'http://127.0.0.1:9/',
    });
    const res = await fetch(`${lab.apiUrl}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partner: 'acme', priority: 'ci-pr', build: 'b-rep' }),
    });
    expect(res.status).toBe(201);
    runId = ((await res.json()) as { id: string }).id;
    expect(await waitForRun(lab.store, runId, 120_000)).toBe('failed');
    junit = await (await fetch(`${lab.apiUrl}/api/runs/${runId}/junit`)).text();
    const history = new LabHistory(lab.store, { windowDays: 90, maxRows: 1_000_000 });
    history.load();
    const storeFile = lab.store.db.name;
    const trainer = ModelTrainer.forHome(lab.home, { storeFile, bounds: () => history.bounds() });
    authed = await startAuthedApi(lab, { report: predictionReport(storeFile, history, trainer) });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await authed?.close();
    await lab?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.skipIf(!up)('names each device in JUnit, keeps the pool as a property and the whole failure', () => {
    for (const device of ['rep-box-a', 'rep-box-b']) {
      expect(junit).toContain(`<testsuite name="${device}"`);
      expect(junit).toContain(`<testcase name="rep.shell" classname="${device}"`);
      expect(junit).toContain(`<property name="device" value="${device}"`);
    }
    expect(junit).toMatch(/<property name="devlab.pool" value="docker:rep-model-a@1.0#[0-9a-f]+"/);
    expect(junit).not.toMatch(/<testsuite name="docker:/);
    // The container test's message is kept whole: the failing case after the count.
    expect(junit).toMatch(/1 of 2 cases did not pass:\s*failed: rep\.bad — boom on the box/);
  });

  it.skipIf(!up)('reports the test no device can run as skipped in JUnit, with why', () => {
    expect(junit).toMatch(
      /<testsuite name="unrunnable"[^>]*skipped="1"[\s\S]*<testcase name="rep\.tv-only"[\s\S]*<skipped message="no device can run it: [^"]*appium/,
    );
  });

  it.skipIf(!up)('imports its own JUnit back with the devices it ran on', async () => {
    const dir = path.join(scratch, 'junit');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'run.xml'), junit);
    const { rows, summary } = await importHistory({ junit: dir });
    expect(summary.devices).toBe(2);
    expect(new Set(rows.map((r) => r.device))).toEqual(new Set(['rep-box-a', 'rep-box-b']));
    // Tests keep their own ids (no device in front); the unrunnable test is no history.
    expect(rows.map((r) => r.test)).toContain('rep.shell');
    expect(rows.map((r) => r.test)).not.toContain('rep.tv-only');
  });

  it.skipIf(!up)('`results show` prints the whole failure and the tests not run', async () => {
    const out = await cli('results', 'show', runId);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(
      /rep\.cases on rep-box-a: 1 of 2 cases did not pass:\n\s+failed: rep\.bad — boom/,
    );
    expect(out.stdout).toMatch(/not run \(no device can run them\):\n\s+rep\.tv-only: .*appium/);
  });

  it.skipIf(!up)('`analysis export` writes the lab history as a CSV the analysis reads', async () => {
    const file = path.join(scratch, 'history.csv');
    const out = await cli('analysis', 'export', '--out', file);
    expect(out.status).toBe(0);
    const rows = await readHistoryCsv(file);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.cycle))).toEqual(new Set([runId]));
    expect(new Set(rows.map((r) => `${r.test}@${r.device}:${r.verdict}`))).toEqual(
      new Set([
        'rep.shell@rep-box-a:pass',
        'rep.shell@rep-box-b:pass',
        'rep.cases@rep-box-a:fail',
        'rep.cases@rep-box-b:fail',
      ]),
    );
    const other = path.join(scratch, 'other.csv');
    expect((await cli('analysis', 'export', '--out', other, '--partner', 'globex')).status).toBe(0);
    expect(await readHistoryCsv(other)).toEqual([]);
  });

  it.skipIf(!up)('scopes the export and the prediction report to a partner token', async () => {
    const acme = authed.tokens.create('acme').token;
    const globex = authed.tokens.create('globex').token;
    const csv = async (token: string, query = '') =>
      (await (await call(`${authed.url}/api/history.csv${query}`, token)).text()).trim().split('\n');
    expect(await csv(acme)).toHaveLength(5);
    // A partner asking for another's runs still gets its own only.
    expect(await csv(globex, '?partner=acme')).toHaveLength(1);

    const acmeReport = await call(`${authed.url}/api/report`, acme);
    expect(acmeReport.status).toBe(200);
    const html = await acmeReport.text();
    expect(html).toContain('acme\u2019s runs');
    expect(html).toContain('rep.cases');
    const globexReport = await call(`${authed.url}/api/report.json`, globex);
    expect(globexReport.status).toBe(200);
    expect(JSON.stringify(await globexReport.json())).not.toContain('rep.cases');
  });

  it.skipIf(!up)('the dashboard shows the unrunnable test and opens the partner\u2019s report', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('401')) problems.push(m.text());
    });
    await page.goto(`${authed.url}/`);
    await page.getByRole('textbox', { name: 'API token' }).fill(authed.tokens.create('acme').token);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.goto(`${authed.url}/#/runs/${runId}`);
    const unrunnable = page.getByRole('region', { name: 'Tests no device can run' });
    await unrunnable.waitFor();
    expect(await unrunnable.locator('li[data-unrunnable="rep.tv-only"]').textContent()).toMatch(/appium/);

    await page.getByRole('link', { name: 'Failure prediction' }).click();
    const report = page.frameLocator('iframe[title="Failure-prediction report"]');
    await report.getByRole('heading', { name: /acme’s runs/ }).waitFor();
    // The report's own style sheet applies in the frame (the dashboard's policy allows it by its hash).
    const fontFamily = await report.locator('body').evaluate((b) => getComputedStyle(b).fontFamily);
    expect(fontFamily).toContain('system-ui');
    expect(problems).toEqual([]);
  });
});
