import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../harness/doctor/check.ts';
import { headlessChromiumCheck, jobQueueCheck, storeFileCheck } from '../../harness/doctor/runtime-checks.ts';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { newRedis, scanKeys } from '../support/redis-keys.ts';
import { CHROMIUM, chromiumUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';

/**
 * The doctor's checks that use a part as the lab does (what the project-less "integration" tests of
 * better-sqlite3, BullMQ and playwright-core checked before): each passes on this machine's real parts,
 * leaves nothing behind, and fails with what and where when the part is missing.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'devlab-doctor-'));
const config = (env: Record<string, string> = {}): DevlabConfig =>
  loadConfig({
    env: {
      ...process.env,
      DEVLAB_HOME: path.join(dir, 'home'),
      DEVLAB_REDIS_URL: REDIS_URL,
      DEVLAB_CHROMIUM: CHROMIUM,
      ...env,
    },
  });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite store check', () => {
  it('creates a WAL store with every migration under the data dir and removes it', async () => {
    const outcome = await runCheck(storeFileCheck(config()));
    expect(outcome).toMatchObject({ name: 'SQLite store', ok: true, required: true });
    expect(outcome.detail).toMatch(/\(WAL, schema (\d+)\/\1\)$/);
    expect(readdirSync(path.join(dir, 'home'))).toEqual([]);
  });

  it('fails naming the data dir when no store can be created there', async () => {
    const blocked = path.join(dir, 'a-file');
    writeFileSync(blocked, 'not a folder');
    const outcome = await runCheck(storeFileCheck(config({ DEVLAB_HOME: blocked })));
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toContain(`a store file under ${blocked}:`);
    expect(outcome.fix).toContain('DEVLAB_HOME');
  });
});

describe('job queue check', async () => {
  const up = await requireService('Redis', redisUp);

  it.skipIf(!up)('round-trips a job through a BullMQ queue and leaves no key behind', async () => {
    const outcome = await runCheck(jobQueueCheck(config()));
    expect(outcome).toMatchObject({
      name: 'Job queue (BullMQ)',
      ok: true,
      detail: `a job round trip on ${REDIS_URL}`,
    });
    const redis = newRedis();
    try {
      expect(await scanKeys(redis, `devlab-doctor-${process.pid}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('fails with the unreachable URL and a fix when Redis does not answer', async () => {
    const outcome = await runCheck(jobQueueCheck(config({ DEVLAB_REDIS_URL: 'redis://127.0.0.1:1' })));
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toMatch(/^redis:\/\/127\.0\.0\.1:1 unreachable: /);
    expect(outcome.fix).toContain('DEVLAB_REDIS_URL');
  });
});

describe('headless Chromium check', async () => {
  const up = await requireService('Chromium', chromiumUp);

  it.skipIf(!up)('starts Chromium with the browser driver flags and renders a page', async () => {
    const outcome = await runCheck(headlessChromiumCheck(config()));
    expect(outcome).toMatchObject({ name: 'Chromium headless', ok: true });
    expect(outcome.detail).toMatch(new RegExp(`^${CHROMIUM} \\d+\\.[\\d.]+ renders a page headless$`));
  });

  it('fails naming the executable that does not start', async () => {
    const missing = path.join(dir, 'no-chromium');
    const outcome = await runCheck(headlessChromiumCheck(config({ DEVLAB_CHROMIUM: missing })));
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toContain(`${missing} does not start headless: `);
    expect(outcome.fix).toContain('DEVLAB_CHROMIUM');
  });
});
