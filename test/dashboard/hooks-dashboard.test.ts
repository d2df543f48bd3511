import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../harness/config/config.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { call, type PartnerTokens, partnerTokens } from '../api/authed-api.ts';
import { finishRun, hooksEnv, type Receiver, startReceiver } from '../support/hooks-lab.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { CHROMIUM, CHROMIUM_ARGS, REDIS_URL, redisUp, requireService } from '../support/services.ts';

/**
 * The dashboard's hook pages in headless Chromium against a real control plane (SQLite, Redis, the API with
 * tokens): a partner's hooks, a delivery log while a receiver answers 500 (status codes, attempts, next
 * retry, idempotency key), redelivery by hand once it answers 200, and another partner's hook kept out.
 */
describe('the dashboard shows a partner\u2019s hooks and their delivery logs', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-hooks-dash-'));
  const prefix = `devlab-hooks-dash-${process.pid}`;
  const redis = redisConnection(REDIS_URL);
  let server: ControlPlaneService;
  let receiver: Receiver;
  let healed = false;
  let tokens: PartnerTokens;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!up) return;
    receiver = await startReceiver(() => ({ status: healed ? 200 : 500 }));
    const env = {
      ...hooksEnv(home, prefix),
      // The retry after a failed attempt waits 10 minutes: during the test the delivery waits for it, and
      // only the redelivery by hand sends it again.
      DEVLAB_HOOKS_BACKOFF_MS: '600000',
      DEVLAB_HOOKS_MAX_BACKOFF_MS: '600000',
    };
    server = await startControlPlaneService(loadConfig({ env: { ...process.env, ...env } }), {
      port: 0,
      agentToken: 'agent-secret-hooks-dash',
    });
    tokens = partnerTokens(new TokensRepo(server.store.db));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    // Any script error or blocked resource (CSP) fails the test; the 404 of another partner's hook is expected.
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/\b(401|404)\b/.test(m.text())) problems.push(m.text());
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
    redis.disconnect();
    await removeTestLab(prefix, home, up);
  });

  const addHook = async (token: string, p: string) => {
    const res = await call(`${server.url}/api/hooks`, token, {
      method: 'POST',
      body: { url: `${receiver.url}${p}`, events: ['run.finished'] },
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  };

  it.skipIf(!up)(
    'lists the hooks, shows a delivery log with next retry and idempotency key, redelivers, hides globex',
    async () => {
      const acmeHook = await addHook(tokens.acme, '/acme');
      const globexHook = await addHook(tokens.globex, '/globex');
      const runId = await finishRun({ server, redis, prefix }, tokens.acme, 'b-dash-hooks', {
        agent: 'hooks-dash-test',
        device: 'dash-hook-device',
        fails: () => false,
        message: '',
      });

      await page.goto(`${server.url}/`);
      await page.getByRole('textbox', { name: 'API token' }).fill(tokens.acme);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('link', { name: 'Hooks' }).click();
      const hooks = page.getByRole('table', { name: 'Hooks' });
      await hooks.locator(`tr[data-hook="${acmeHook.id}"]`).waitFor();
      expect(await hooks.locator('tbody tr').count()).toBe(1);
      expect(await hooks.textContent()).not.toContain(globexHook.id);

      // The delivery log while the receiver answers 500: waiting for a retry, and when it comes.
      await page.getByRole('link', { name: acmeHook.id }).click();
      const log = page.getByRole('table', { name: 'Delivery log' });
      const waiting = log.locator('tr[data-state="pending"]:not(:has(td[data-next-retry=""]))');
      await waiting.waitFor({ timeout: 30_000 });
      const id = receiver.got('/acme')[0]!.headers['x-devlab-delivery'] as string;
      const row = log.locator(`tr[data-delivery="${id}"]`);
      expect(await log.locator('tbody tr').count()).toBe(1);
      const cells = await row.locator('td').allTextContents();
      expect(cells[0]).toBe('run.finished');
      expect(cells[1]).toBe(runId);
      expect(cells[3]).toBe('1');
      expect(cells[4]).toBe('500HTTP 500');
      expect(cells[6]).toBe(id);
      // The next retry shown is the API's.
      const [api] = (await (
        await call(`${server.url}/api/hooks/${acmeHook.id}/deliveries`, tokens.acme)
      ).json()) as { nextAttemptAt: number | null }[];
      expect(api!.nextAttemptAt).not.toBeNull();

      // The receiver is fixed: redelivered by hand, the same delivery id arrives and the log says 200.
      healed = true;
      await page.getByRole('button', { name: `Redeliver ${id}` }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `redelivery of ${id} queued` })
        .waitFor();
      await log.locator(`tr[data-delivery="${id}"][data-state="delivered"]`).waitFor({ timeout: 30_000 });
      expect(await row.locator('td[data-status-codes]').getAttribute('data-status-codes')).toBe('500 200');
      expect(await row.locator('td[data-attempts]').textContent()).toBe('2');
      expect(await row.locator('td[data-next-retry]').getAttribute('data-next-retry')).toBe('');
      expect(receiver.got('/acme').map((r) => r.headers['x-devlab-delivery'])).toEqual([id, id]);

      // Another partner's hook is not found for acme, and its log is not shown.
      await page.goto(`${server.url}/#/hooks/${globexHook.id}`);
      await page
        .getByRole('status')
        .filter({ hasText: `hook ${globexHook.id} not found` })
        .waitFor();
      expect(await page.getByRole('table', { name: 'Delivery log' }).count()).toBe(0);

      // An admin's token sees every partner's hooks.
      await page.getByRole('textbox', { name: 'API token' }).fill(tokens.admin);
      await page.getByRole('button', { name: 'Save' }).click();
      await page.goto(`${server.url}/#/hooks`);
      await page.locator(`tr[data-hook="${globexHook.id}"]`).waitFor();
      await page.locator(`tr[data-hook="${acmeHook.id}"]`).waitFor();
      expect(problems).toEqual([]);
    },
    120_000,
  );
});
