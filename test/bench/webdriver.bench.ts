import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { remote } from 'webdriverio';
import YAML from 'yaml';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import { loadInventory } from '../../devices/inventory/load.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { startControlPlaneService } from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { startPageServer } from '../devices/page-server.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import type { BenchResult } from './devices.bench.ts';

const REDIS_URL = process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const TV = 'tv-4k-hdr';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(url: string, init: RequestInit): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, init);
  await res.text();
  if (!res.ok) throw new Error(`${init.method} ${url}: HTTP ${res.status}`);
  return performance.now() - t;
}

/**
 * The WebDriver endpoint's cost per command: the same command of the same Appium session, sent through
 * the control plane's `/wd/hub` (auth off, the request log off) and straight to the device's Appium server,
 * interleaved so that load drifts hit both alike. Real parts: Appium 3, chromedriver, Debian Chromium
 * as the reference lab's emulated TV, Redis for the lease, SQLite for the session's run.
 */
export async function benchWebdriver(rounds = 200): Promise<BenchResult[]> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'devlab-bench-webdriver-'));
  const prefix = `devlab-bench-webdriver-${process.pid}`;
  const appium = await new AppiumServer({
    host: '127.0.0.1',
    port: await freePort(),
    appiumHome: process.env['APPIUM_HOME'] ?? PROJECT_ROOT,
    logFile: path.join(home, 'appium.log'),
  }).start();
  const page = await startPageServer();
  const redis = redisConnection(REDIS_URL);
  const tv = loadInventory().find((d) => d.id === TV)!;
  const inventoryFile = path.join(home, 'inventory.yaml');
  writeFileSync(
    inventoryFile,
    YAML.stringify({ devices: [{ ...tv, settings: { ...tv.settings, server: appium.url } }] }),
  );
  const config = loadConfig({
    env: {
      ...process.env,
      DEVLAB_HOME: home,
      DEVLAB_REDIS_URL: REDIS_URL,
      DEVLAB_REDIS_PREFIX: prefix,
      DEVLAB_LOG_LEVEL: 'silent',
    },
  });
  const server = await startControlPlaneService(config, { port: 0, auth: false, inventoryFile });
  try {
    const browser = await remote({
      hostname: '127.0.0.1',
      port: Number(new URL(server.url).port),
      path: '/wd/hub',
      logLevel: 'silent',
      capabilities: { platformName: 'auroraos', 'devlab:selector': `id:${TV}` } as WebdriverIO.Capabilities,
    });
    try {
      await browser.url(page.url);
      const live = server.webdriver.live[0]!;
      const through = `${server.url}/wd/hub/session/${live.id}`;
      const straight = `${appium.url.replace(/\/$/, '')}/session/${live.appiumSessionId}`;
      const json = { 'content-type': 'application/json; charset=utf-8' };
      const find = JSON.stringify({ using: 'css selector', value: 'body' });
      const commands: [string, (base: string) => Promise<number>][] = [
        ['GET /title', (base) => timed(`${base}/title`, { method: 'GET' })],
        ['POST /element', (base) => timed(`${base}/element`, { method: 'POST', headers: json, body: find })],
      ];
      const out: BenchResult[] = [];
      for (const [name, run] of commands) {
        // Warm both paths (connections, JIT) before measuring.
        for (let i = 0; i < 20; i++) {
          await run(straight);
          await run(through);
        }
        const times = { straight: [] as number[], through: [] as number[] };
        for (let i = 0; i < rounds; i++) {
          times.straight.push(await run(straight));
          times.through.push(await run(through));
        }
        const direct = median(times.straight);
        const proxied = median(times.through);
        const round = (ms: number) => Math.round(ms * 100) / 100;
        out.push({
          name: `webdriver endpoint: proxy overhead per command, median (${name}; baseline: straight to Appium)`,
          value: round(proxied - direct),
          unit: 'ms',
          baseline: round(direct),
          goal: '<= 5 ms',
        });
      }
      return out;
    } finally {
      await browser.deleteSession();
    }
  } finally {
    await server.close();
    await appium.stop();
    await page.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    rmSync(home, { recursive: true, force: true });
  }
}
