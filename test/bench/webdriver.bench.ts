import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { remote } from 'webdriverio';
import YAML from 'yaml';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { startControlPlaneService } from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { AgentRelay } from '../../harness/webdriver/agent-relay.ts';
import { startPageServer } from '../devices/page-server.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { referenceTv } from '../webdriver/tv-parts.ts';
import type { BenchResult } from './bench-result.ts';

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

/** The ms medians of one command sent straight to Appium and through `/wd/hub`, interleaved. */
async function compare(
  rounds: number,
  straight: string,
  through: string,
): Promise<{ name: string; direct: number; proxied: number }[]> {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  const find = JSON.stringify({ using: 'css selector', value: 'body' });
  const commands: [string, (base: string) => Promise<number>][] = [
    ['GET /title', (base) => timed(`${base}/title`, { method: 'GET' })],
    ['POST /element', (base) => timed(`${base}/element`, { method: 'POST', headers: json, body: find })],
  ];
  const out: { name: string; direct: number; proxied: number }[] = [];
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
    out.push({ name, direct: median(times.straight), proxied: median(times.through) });
  }
  return out;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * The WebDriver endpoint's cost per command: the same command of the same Appium session, sent through
 * the control plane's `/wd/hub` (auth off, the request log off) and straight to the device's Appium server,
 * interleaved so that load drifts hit both alike. Twice: first the control plane proxies straight to the
 * device's Appium URL (no agent relays the TV), then through the WebDriver relay (an agent's relay end for
 * the TV, in this process: control plane → Redis → agent → Appium and back). Real parts: Appium 3,
 * chromedriver, Debian Chromium as the reference lab's emulated TV, Redis for the lease and the relay,
 * SQLite for the session's run.
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
  const tv = referenceTv(TV, appium.url);
  const inventoryFile = path.join(home, 'inventory.yaml');
  writeFileSync(inventoryFile, YAML.stringify({ devices: [tv] }));
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
  const relay = new AgentRelay({
    agentId: tv.host,
    devices: [tv],
    redis,
    keys: labKeys(prefix),
    logger: pino({ level: 'silent' }),
  });
  /** One session: its figures, then it is deleted. */
  const measure = async (via: 'proxy' | 'relay'): Promise<BenchResult[]> => {
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
      return (await compare(rounds, straight, through)).map(({ name, direct, proxied }) => ({
        name:
          via === 'proxy'
            ? `webdriver endpoint: proxy overhead per command, median (${name}; baseline: straight to Appium)`
            : `webdriver endpoint: relay overhead per command through the device's agent, median (${name}; baseline: straight to Appium)`,
        value: round(proxied - direct),
        unit: 'ms',
        baseline: round(direct),
        goal: via === 'proxy' ? '<= 5 ms' : '<= 10 ms',
      }));
    } finally {
      await browser.deleteSession();
    }
  };
  try {
    const proxied = await measure('proxy');
    // From now on the TV's agent relays it: new sessions go through it.
    await relay.start();
    const relayed = await measure('relay');
    return [...proxied, ...relayed];
  } finally {
    await server.close();
    await relay.stop();
    await appium.stop();
    await page.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
    rmSync(home, { recursive: true, force: true });
  }
}

// Runnable on its own: `npx tsx test/bench/webdriver.bench.ts`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await benchWebdriver()) console.log(JSON.stringify(r));
}
