import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remote } from 'webdriverio';
import YAML from 'yaml';
import { loadInventory } from '../../devices/inventory/load.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { WEBDRIVER_TEST_ID } from '../../harness/webdriver/session-store.ts';
import { call } from '../api/authed-api.ts';
import { until } from '../support/hooks-lab.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { chromiumUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { referenceTv, startTvParts, type TvParts } from './tv-parts.ts';

const TV = 'tv-4k-hdr';
const TITLE = 'Devlab Reference Streaming';
/** What the clients ask for: the TV's platform, and the TV itself through the device query language. */
const CAPS = { platformName: 'auroraos', 'devlab:selector': `id:${TV}` };
const PLAIN_CLIENT = path.join(PROJECT_ROOT, 'test/webdriver/plain-wdio-client.mjs');

interface RunResults {
  run: { id: string; partner: string; status: string; startedAt: number; finishedAt: number | null };
  jobs: {
    testId: string;
    deviceId: string | null;
    verdict: string | null;
    message: string | null;
    attemptsDetail: { status: string; agent: string; message: string | null }[];
    artifacts: { name: string; url: string; state: string }[];
  }[];
}

/**
 * devlab as a WebDriver endpoint on the real lab parts: the control plane (SQLite, Redis leases, the HTTP
 * API with partner tokens), a real Appium 3 server with its chromium driver driving Debian's Chromium as
 * the reference lab's emulated 4K TV, and the reference streaming app on loopback. The clients are plain
 * WebdriverIO (a separate node process running a script with no devlab code, or `remote()` here).
 */
describe('the WebDriver endpoint (/wd/hub)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-webdriver-'));
  const prefix = `devlab-webdriver-${process.pid}`;
  const redis = redisConnection(REDIS_URL);
  const leases = new LeaseManager(redis, { prefix: `${prefix}:` });
  const children: ChildProcess[] = [];
  let tv: TvParts;
  let server: ControlPlaneService;
  let port: number;
  let tokens: { acme: string; globex: string };

  /** A WebdriverIO session of `partner` (its token as a bearer header on every request). */
  const client = (token: string, caps: Record<string, unknown> = CAPS) =>
    remote({
      hostname: '127.0.0.1',
      port,
      path: '/wd/hub',
      headers: { authorization: `Bearer ${token}` },
      logLevel: 'silent',
      connectionRetryCount: 0,
      capabilities: caps as WebdriverIO.Capabilities,
    });
  const results = async (token: string, runId: string) => {
    const res = await call(`${server.url}/api/runs/${runId}/results`, token);
    expect(res.status).toBe(200);
    return (await res.json()) as RunResults;
  };
  /** The plain script in a process of its own; resolves with its first line once it printed it. */
  const plainClient = (token: string, mode: 'complete' | 'vanish') => {
    const child = spawn(process.execPath, [PLAIN_CLIENT], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        WD_PORT: String(port),
        WD_USER: 'acme',
        WD_KEY: token,
        WD_CAPABILITIES: JSON.stringify(CAPS),
        APP_URL: tv.app.url,
        MODE: mode,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const line = new Promise<{ sessionId: string; runId: string; title: string }>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!));
      });
      child.once('exit', (code) => reject(new Error(`the client exited (${code}) without a line: ${err}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { child, line, exited };
  };

  beforeAll(async () => {
    if (!up) return;
    tv = await startTvParts(home);
    // The reference lab's emulated TV, on this test's Appium server, and a container device beside it.
    const container = loadInventory().find((d) => d.driver === 'docker')!;
    const inventoryFile = path.join(home, 'inventory.yaml');
    writeFileSync(inventoryFile, YAML.stringify({ devices: [referenceTv(TV, tv.appium.url), container] }));
    const config = loadConfig({
      env: {
        ...process.env,
        DEVLAB_HOME: home,
        DEVLAB_REDIS_URL: REDIS_URL,
        DEVLAB_REDIS_PREFIX: prefix,
        DEVLAB_API_AUTH: 'true',
        DEVLAB_LOG_LEVEL: 'silent',
        // Short, so that a client that died frees the device within the test.
        DEVLAB_WEBDRIVER_IDLE_TIMEOUT_MS: '3000',
      },
    });
    server = await startControlPlaneService(config, { port: 0, agentToken: 'agent-wd', inventoryFile });
    port = Number(new URL(server.url).port);
    const repo = new TokensRepo(server.store.db);
    tokens = { acme: repo.create('acme').token, globex: repo.create('globex').token };
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.close();
    await tv?.close();
    redis.disconnect();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'a plain WebdriverIO script opens the reference app on the TV, reads its title and ends; its session is a run with artifacts',
    async () => {
      const plain = plainClient(tokens.acme, 'complete');
      const line = await plain.line;
      expect(line.title).toBe(TITLE);
      expect(await plain.exited).toBe(0);

      const { run, jobs } = await results(tokens.acme, line.runId);
      expect(run).toMatchObject({ partner: 'acme', status: 'passed' });
      expect(run.finishedAt).not.toBeNull();
      expect(jobs).toHaveLength(1);
      const [job] = jobs;
      expect(job).toMatchObject({ testId: WEBDRIVER_TEST_ID, deviceId: TV, verdict: 'passed' });
      expect(job!.message).toMatch(/^completed: the client deleted the session after \d+ commands$/);
      expect(job!.attemptsDetail).toEqual([
        expect.objectContaining({ status: 'passed', agent: 'control-plane/webdriver' }),
      ]);
      expect(job!.artifacts.map((a) => a.name)).toEqual(
        expect.arrayContaining(['commands.jsonl', 'screenshot.png']),
      );

      const artifact = (name: string) =>
        call(`${server.url}${job!.artifacts.find((a) => a.name === name)!.url}`, tokens.acme);
      const commands = (await (await artifact('commands.jsonl')).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { method: string; command: string; status: number });
      expect(commands).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ method: 'POST', command: '/url', status: 200 }),
          expect.objectContaining({ method: 'GET', command: '/title', status: 200 }),
        ]),
      );
      const png = Buffer.from(await (await artifact('screenshot.png')).arrayBuffer());
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

      // Not history: no query field, ranking or training ever reads a session's run.
      expect(server.store.history.runJobs(run.id)).toEqual([]);
      const history = [...server.store.history.finishedRuns({ sinceMs: 0, maxRows: 1_000_000 })].flat();
      expect(history.some((j) => j.runId === run.id)).toBe(false);
      // The device is free again.
      expect(await leases.holder(TV)).toBeNull();

      const cli = await new Promise<{ code: number | null; stdout: string }>((resolve) =>
        execFile(
          process.execPath,
          [
            path.join(PROJECT_ROOT, 'harness/cli/devlab.js'),
            'results',
            'show',
            run.id,
            '--server',
            server.url,
          ],
          { cwd: PROJECT_ROOT, env: { ...process.env, DEVLAB_TOKEN: tokens.acme }, timeout: 60_000 },
          (err, stdout) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout }),
        ),
      );
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain(WEBDRIVER_TEST_ID);
      expect(cli.stdout).toContain(TV);
      expect(cli.stdout).toContain(
        `${WEBDRIVER_TEST_ID} on ${TV}: completed: the client deleted the session`,
      );
    },
  );

  it.skipIf(!up)(
    'another partner can neither see a session’s run nor send its session a command',
    async () => {
      const browser = await client(tokens.acme);
      const runId = String(browser.capabilities['devlab:runId' as keyof typeof browser.capabilities]);
      const session = `${server.url}/wd/hub/session/${browser.sessionId}`;
      try {
        expect((await call(`${server.url}/api/runs/${runId}`, tokens.globex)).status).toBe(404);
        for (const [method, p, body] of [
          ['POST', '/url', { url: tv.app.url }],
          ['GET', '/title', undefined],
          ['DELETE', '', undefined],
        ] as const) {
          const res = await call(`${session}${p}`, tokens.globex, { method, ...(body ? { body } : {}) });
          expect([method, p, res.status]).toEqual([method, p, 404]);
          expect(((await res.json()) as { value: { error: string } }).value.error).toBe('invalid session id');
        }
        const forged = await call(`${session}/title`, 'dlb_not-a-token');
        expect(forged.status).toBe(401);
        // Still acme's, untouched.
        await browser.url(tv.app.url);
        expect(await browser.getTitle()).toBe(TITLE);
      } finally {
        await browser.deleteSession();
      }
      expect((await results(tokens.acme, runId)).run.status).toBe('passed');
    },
  );

  it.skipIf(!up)(
    'clients asking for the one device wait their turn behind an agent’s lease and each other, and are served in turn',
    async () => {
      // An agent runs a catalog test on the TV: its lease is the same lease the sessions take.
      const agent = await leases.acquire(TV, 'agent-a/tv-4k-hdr', 60_000);
      expect(agent.ok).toBe(true);
      const first = client(tokens.acme);
      await until('the first client queued', () => server.webdriver.queue.queued.length === 1);
      const second = client(tokens.acme);
      await until('the second client queued', () => server.webdriver.queue.queued.length === 2);

      if (agent.ok) await leases.release(agent.lease);
      const a = await first;
      expect(server.webdriver.queue.queued).toHaveLength(1);
      // While a session holds the TV, no agent gets it either.
      expect(await leases.acquire(TV, 'agent-a/tv-4k-hdr', 60_000)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^held by webdriver\//),
      });
      await a.url(tv.app.url);
      await a.deleteSession();
      const b = await second;
      await b.url(tv.app.url);
      expect(await b.getTitle()).toBe(TITLE);
      await b.deleteSession();

      const ranA = (
        await results(tokens.acme, String(a.capabilities['devlab:runId' as keyof typeof a.capabilities]))
      ).run;
      const ranB = (
        await results(tokens.acme, String(b.capabilities['devlab:runId' as keyof typeof b.capabilities]))
      ).run;
      expect([ranA.status, ranB.status]).toEqual(['passed', 'passed']);
      expect(ranB.startedAt).toBeGreaterThanOrEqual(ranA.finishedAt!);
    },
  );

  it.skipIf(!up)(
    'a client killed mid-session frees the device after the idle timeout, for the next one waiting',
    async () => {
      const vanishing = plainClient(tokens.acme, 'vanish');
      const line = await vanishing.line;
      expect(line.title).toBe(TITLE);
      const next = client(tokens.globex);
      // Queued, or (on a slow machine) already served: the idle timeout may have come first.
      await until(
        'the next client asked',
        () =>
          server.webdriver.queue.queued.length === 1 ||
          server.webdriver.live.some((l) => l.partner === 'globex'),
      );
      vanishing.child.kill('SIGKILL');
      await vanishing.exited;

      const browser = await next;
      expect(server.webdriver.live.map((s) => s.partner)).toEqual(['globex']);
      await browser.deleteSession();
      const { run, jobs } = await results(tokens.acme, line.runId);
      expect(run.status).toBe('cancelled');
      expect(jobs[0]!.message).toBe('idle timeout: no command for 3.0 s (webdriver.idleTimeoutMs)');
      expect(jobs[0]!.artifacts.map((a) => a.name)).toEqual(
        expect.arrayContaining(['commands.jsonl', 'screenshot.png']),
      );
    },
  );

  it.skipIf(!up)(
    'a request no device can serve, or that waits too long, is refused with `session not created` saying why',
    async () => {
      const newSession = (alwaysMatch: Record<string, unknown>) =>
        call(`${server.url}/wd/hub/session`, tokens.acme, {
          method: 'POST',
          body: { capabilities: { alwaysMatch } },
        });
      const refused = async (res: Response) => {
        expect(res.status).toBe(500);
        const { value } = (await res.json()) as { value: { error: string; message: string } };
        expect(value.error).toBe('session not created');
        return value.message;
      };
      const container = loadInventory().find((d) => d.driver === 'docker')!.id;
      expect(await refused(await newSession({ 'devlab:selector': `id:${container}` }))).toBe(
        `no device matches: ${container} is a docker device, not an Appium one`,
      );
      expect(await refused(await newSession({ platformName: 'tizen' }))).toBe(
        `no device matches: ${TV} is platform auroraos (Appium: linux), not tizen; ${container} is a docker device, not an Appium one`,
      );

      const agent = await leases.acquire(TV, 'agent-a/tv-4k-hdr', 60_000);
      try {
        expect(await refused(await newSession({ ...CAPS, 'devlab:queueTimeout': 0.5 }))).toBe(
          'waited 0.5 s for a device (tv-4k-hdr) and none came free (tv-4k-hdr: held by agent-a/tv-4k-hdr)',
        );
      } finally {
        if (agent.ok) await leases.release(agent.lease);
      }
      // The endpoint is W3C's protocol, not part of the API's OpenAPI document.
      const doc = (await (await call(`${server.url}/api/openapi.json`, null)).json()) as { paths: object };
      expect(Object.keys(doc.paths).filter((p) => p.startsWith('/wd/'))).toEqual([]);
      const bad = await newSession({ 'devlab:selector': 'tag:' });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { value: { error: string } }).value.error).toBe('invalid argument');
    },
  );

  it.skipIf(!up)(
    'a session whose run is cancelled through the API ends, and its device is freed',
    async () => {
      const browser = await client(tokens.acme);
      const runId = String(browser.capabilities['devlab:runId' as keyof typeof browser.capabilities]);
      const cancelled = await call(`${server.url}/api/runs/${runId}/cancel`, tokens.acme, { method: 'POST' });
      expect(cancelled.status).toBe(200);
      await until('the session ended', () => server.webdriver.live.length === 0);
      await expect(browser.getTitle()).rejects.toThrow(/has ended \(aborted by client\)/);
      expect(await leases.holder(TV)).toBeNull();
      const { run, jobs } = await results(tokens.acme, runId);
      expect(run.status).toBe('cancelled');
      expect(jobs[0]!.attemptsDetail).toEqual([
        expect.objectContaining({
          status: 'cancelled',
          message: 'aborted: the run was cancelled through the API',
        }),
      ]);
    },
  );
});
