import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadInventory } from '../../devices/inventory/load.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { type LabFiles, labFiles, type ServiceLab, startServiceLab } from '../support/service-lab.ts';
import { CHROMIUM, CHROMIUM_ARGS, chromiumUp, redisUp, requireService } from '../support/services.ts';

const TV = 'tv-4k-hdr';

/**
 * The dashboard's devices page in headless Chromium against a real control plane (SQLite, Redis, the API
 * with tokens): a partner reserves the TV with the page's button and sees its WebDriver URL and a Release
 * button; another partner sees only by whom and until when; Release frees it. (A reservation needs no
 * Appium: only a session through its URL would.)
 */
describe('the dashboard reserves and releases a device', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  let files: LabFiles;
  let lab: ServiceLab;
  let tokens: { acme: string; globex: string };
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!up) return;
    const tv = loadInventory().find((d) => d.id === TV)!;
    files = labFiles({
      name: 'reservations-dash',
      inventoryYaml: YAML.stringify({ devices: [tv] }),
      env: { DEVLAB_API_AUTH: 'true', DEVLAB_LOG_LEVEL: 'silent' },
    });
    lab = await startServiceLab(files, { agentToken: 'agent-reservations-dash' });
    const repo = new TokensRepo(lab.server.store.db);
    tokens = { acme: repo.create('acme').token, globex: repo.create('globex').token };
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await lab?.close();
    if (up) await files.remove();
  });

  /** The devices page with `token` saved; the TV's row. */
  const devicesPage = async (token: string): Promise<Page> => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    // The token as the page keeps it once pasted (localStorage), there before the first request.
    await page.addInitScript((t) => localStorage.setItem('devlab.token', t), token);
    await page.goto(`${lab.server.url}/#/devices`);
    return page;
  };

  it.skipIf(!up)(
    'Reserve shows who until when and the URL to its partner; Release frees the TV',
    async () => {
      const acme = await devicesPage(tokens.acme);
      const row = acme.locator(`tr[data-device="${TV}"]`);
      await row.getByRole('button', { name: 'Reserve 30m' }).click();
      await row.getByRole('button', { name: 'Release' }).waitFor();
      const [reservation] = await lab.server.reservations.list(null);
      expect(reservation).toMatchObject({ deviceId: TV, partner: 'acme' });
      expect(reservation!.until - reservation!.createdAt).toBe(30 * 60_000);
      expect(await row.textContent()).toContain('reservation/acme');
      expect(await row.textContent()).toContain(`/wd/hub/reservations/${reservation!.id}`);

      const globex = await devicesPage(tokens.globex);
      const seen = globex.locator(`tr[data-device="${TV}"] td.reserved`);
      await seen.getByText(/^acme until /).waitFor();
      expect(await seen.getByRole('button').count()).toBe(0);
      expect(await seen.textContent()).not.toContain(reservation!.id);

      await row.getByRole('button', { name: 'Release' }).click();
      await row.getByRole('button', { name: 'Reserve 30m' }).waitFor();
      expect(await lab.server.reservations.list(null)).toEqual([]);
      expect(problems).toEqual([]);
    },
  );
});
