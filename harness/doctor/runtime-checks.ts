import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../devices/browser/browser-driver.ts';
import type { DevlabConfig } from '../config/config.ts';
import { redisConnection } from '../queue/connection.ts';
import { labKeys } from '../queue/names.ts';
import { connectProbe } from '../queue/redis-probe.ts';
import { removeLabKeys } from '../queue/remove-lab-keys.ts';
import { openDatabase } from '../store/database.ts';
import { MIGRATIONS } from '../store/migrations.ts';
import type { Check } from './check.ts';

/*
 * Checks that use a part the way the lab does, beyond "it answers": the store's SQLite file in WAL mode
 * under the data dir, a job through a BullMQ queue on the configured Redis, and Chromium started headless
 * by playwright-core as the browser driver starts it. Each leaves nothing behind.
 */

const SETUP = 'bash harness/setup/setup.sh';

/** A scratch store under the data dir: created with every migration in WAL mode, closed, reopened, removed. */
export function storeFileCheck(config: DevlabConfig): Check {
  return {
    name: 'SQLite store',
    required: true,
    async run() {
      const file = path.join(config.home, `.doctor-${process.pid}.db`);
      try {
        const db = openDatabase(file);
        const mode = db.pragma('journal_mode', { simple: true });
        db.close();
        if (mode !== 'wal')
          return {
            ok: false,
            detail: `${config.home}: journal mode ${String(mode)}, not WAL`,
            fix: 'put DEVLAB_HOME on a local filesystem (SQLite WAL needs shared memory)',
          };
        const again = openDatabase(file);
        const version = again.pragma('user_version', { simple: true });
        again.close();
        return { ok: true, detail: `${config.home} (WAL, schema ${String(version)}/${MIGRATIONS.length})` };
      } catch (err) {
        return {
          ok: false,
          detail: `a store file under ${config.home}: ${(err as Error).message}`,
          fix: `run \`${SETUP}\` (better-sqlite3's native module), and set DEVLAB_HOME to a local writable folder`,
        };
      } finally {
        for (const suffix of ['', '-wal', '-shm'])
          if (existsSync(`${file}${suffix}`)) rmSync(`${file}${suffix}`);
      }
    },
  };
}

/** One job added, processed by a worker and its return value read, on a queue of its own prefix. */
export function jobQueueCheck(config: DevlabConfig, timeoutMs = 15_000): Check {
  return {
    name: 'Job queue (BullMQ)',
    required: true,
    async run() {
      const fix = `run \`${SETUP}\`, or set DEVLAB_REDIS_URL to a Redis 6.2+ with maxmemory-policy noeviction`;
      // A clear "unreachable" first: the queue's own connection would wait through a Redis that is down.
      try {
        (await connectProbe(config.redisUrl, 2000)).disconnect();
      } catch (err) {
        return { ok: false, detail: `${config.redisUrl} unreachable: ${(err as Error).message}`, fix };
      }
      const keys = labKeys(`devlab-doctor-${process.pid}`);
      const connection: Redis = redisConnection(config.redisUrl);
      const queue = new Queue('roundtrip', { connection, prefix: keys.queuePrefix });
      const worker = new Worker(
        'roundtrip',
        async (job) => ({ doubled: (job.data as { n: number }).n * 2 }),
        {
          connection,
          prefix: keys.queuePrefix,
        },
      );
      let timer: NodeJS.Timeout | undefined;
      try {
        const done = new Promise<unknown>((resolve, reject) => {
          worker.on('completed', (_job, value) => resolve(value));
          worker.on('failed', (_job, err) => reject(err));
          worker.on('error', reject);
          timer = setTimeout(() => reject(new Error(`no job done after ${timeoutMs} ms`)), timeoutMs);
        });
        await queue.add('double', { n: 21 });
        const value = await done;
        return JSON.stringify(value) === JSON.stringify({ doubled: 42 })
          ? { ok: true, detail: `a job round trip on ${config.redisUrl}` }
          : { ok: false, detail: `the worker's result came back as ${JSON.stringify(value)}`, fix };
      } catch (err) {
        return {
          ok: false,
          detail: `a job round trip on ${config.redisUrl}: ${(err as Error).message}`,
          fix,
        };
      } finally {
        clearTimeout(timer);
        await worker.close();
        await queue.close();
        await removeLabKeys(connection, keys);
        connection.disconnect();
      }
    },
  };
}

/** Chromium started headless through playwright-core with the browser driver's flags, a page rendered. */
export function headlessChromiumCheck(config: DevlabConfig): Check {
  return {
    name: 'Chromium headless',
    required: true,
    async run() {
      try {
        const browser = await chromium.launch({
          executablePath: config.chromium,
          args: CHROMIUM_ARGS,
          headless: true,
          timeout: 30_000,
        });
        try {
          const page = await browser.newPage();
          await page.setContent('<p id="doctor">rendered</p>');
          const text = await page.textContent('#doctor');
          return text === 'rendered'
            ? { ok: true, detail: `${config.chromium} ${browser.version()} renders a page headless` }
            : { ok: false, detail: `a page rendered "${text}" instead of "rendered"` };
        } finally {
          await browser.close();
        }
      } catch (err) {
        return {
          ok: false,
          detail: `${config.chromium} does not start headless: ${(err as Error).message.split('\n')[0]}`,
          fix: `run \`${SETUP}\` (apt-get install -y chromium), or set DEVLAB_CHROMIUM`,
        };
      }
    },
  };
}
