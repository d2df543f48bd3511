import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type AgentProcess, type DevlabProcess, spawnAgent, spawnDevlab } from '../support/agent-process.ts';
import { type BasicAuthHub, startBasicAuthHub } from '../support/basic-auth-hub.ts';
import {
  agentArgs,
  captureLog,
  captureStoppedLab,
  createApiTokens,
  getRunAnswers,
  processLabEnv,
  runCli,
} from '../support/leak-scan.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { chromiumUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';

// The hub's access key: found anywhere below, it is a leak.
const HUB_USER = 'devlab';
const HUB_KEY = 'SECRET-HUB-KEY-123';
const HUB_BASIC = Buffer.from(`${HUB_USER}:${HUB_KEY}`).toString('base64');
const AGENT_TOKEN = 'agenttok-Hub7Qw2Lx9Pz4R';

const AGENT = 'agent-sec-hub';
/** Behind a hub that wants the credentials on every request, in front of a real Appium: its tests pass. */
const TV = 'sec-hub-tv-1';
/** The same credentials, on a port where nothing answers: sessions fail, then health quarantines it. */
const DEAD_TV = 'sec-hub-tv-dead';

const appiumDevice = (id: string, model: string, server: string) => `
  - id: ${id}
    name: hub credentials ${id}
    driver: appium
    model: ${model}
    platform: auroraos
    os: AuroraOS 5.2
    firmware: '5.2.14'
    host: ${AGENT}
    capabilities: { codecs: [h264], resolution: 1080p, memoryMb: 1024, input: [dpad] }
    settings:
      server: ${server}
      sessionReuse: reuse
      commandTimeoutMs: 10000
      capabilities:
        browserName: chrome
        platformName: linux
        appium:automationName: Chromium
        appium:executable: /usr/bin/chromedriver
        goog:chromeOptions:
          binary: /usr/bin/chromium
          args: [--headless=new, --no-sandbox, --disable-gpu, --no-first-run, --disable-background-networking]
`;

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
export default [
  defineTest(
    { id: 'sec.hub.tv', title: 'TV opens a page through its hub', tags: ['sec-hub'], component: 'player', owner: 'qa', retries: 0, requires: { drivers: ['appium'] } },
    async ({ driver, log, device }) => {
      await driver.url('about:blank');
      // A test that prints its device's settings: the test log is an artifact.
      log.info('device under test', { id: device.id, server: device.settings.server });
    },
  ),
];
`;

describe('a hub URL with credentials: the key reaches no API, CLI, log, Redis, store or artifact (real processes)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-sec-hub-'));
  const home = path.join(dir, 'home');
  const inventory = path.join(dir, 'inventory.yaml');
  const suites = path.join(dir, 'suites');
  const prefix = `devlab-sec-hub-${process.pid}`;
  let env: Record<string, string>;
  let appium: AppiumServer | undefined;
  let hub: BasicAuthHub | undefined;
  let deadPort: number;
  let server: DevlabProcess | undefined;
  let agent: AgentProcess | undefined;
  let url: string;
  let acme: string;
  let admin: string;
  let runId: string;
  let submitCode: number | null = null;
  let deadState = '';
  const codes = new Map<string, number | null>();
  /** Where each captured text came from → the text. */
  const { captured, capture } = captureLog();
  const request = async (method: string, p: string, token: string, body?: unknown) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    capture(`${method} ${p}`, text);
    return { status: res.status, text };
  };
  const cliAs = async (source: string, args: string[], extra: Record<string, string> = {}) => {
    const r = await runCli(args, { ...env, ...extra });
    capture(`cli: ${source}`, `${r.stdout}${r.stderr}`);
    codes.set(source, r.code);
    return r;
  };
  const withKey = (port: number) => `http://${HUB_USER}:${HUB_KEY}@127.0.0.1:${port}`;

  beforeAll(async () => {
    if (!up) return;
    appium = await new AppiumServer({
      host: '127.0.0.1',
      port: await freePort(),
      appiumHome: process.env['APPIUM_HOME'] ?? PROJECT_ROOT,
      logFile: path.join(dir, 'appium.log'),
    }).start();
    hub = await startBasicAuthHub(appium.url, { user: HUB_USER, key: HUB_KEY });
    deadPort = await freePort();
    mkdirSync(suites, { recursive: true });
    writeFileSync(path.join(suites, 'package.json'), '{"type":"module"}\n');
    writeFileSync(path.join(suites, 'sec-hub.test-def.ts'), SUITE);
    writeFileSync(
      inventory,
      `devices:${appiumDevice(TV, 'sec-hub-tv', withKey(hub.port))}${appiumDevice(DEAD_TV, 'sec-hub-tv-dead', withKey(deadPort))}`,
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = {
      ...processLabEnv({ home, prefix, agentToken: AGENT_TOKEN, port, url }),
      DEVLAB_LOG_LEVEL: 'debug',
    };
    ({ acme, admin } = createApiTokens(home));
    const serverStarting = spawnDevlab(
      'server',
      ['--port', String(port), '--inventory', inventory, '--suites', suites],
      env,
      { ready: 'devlab server listening on', track: (p) => (server = p) },
    );
    serverStarting.catch(() => {});
    agent = await spawnAgent(agentArgs(AGENT, inventory, suites, url), env);
    await serverStarting;

    // One job per pool: the TV behind the hub passes; the dead one errors on every attempt (each error
    // triggers a health check) and ends up quarantined with the failed check's reason.
    const submit = await cliAs(
      'run submit --wait',
      ['run', 'submit', '--query', 'tag:sec-hub', '--build', 'b-hub', '--priority', 'ci-pr', '--wait'],
      { DEVLAB_TOKEN: acme },
    );
    submitCode = submit.code;
    runId = /run (\S+): /.exec(submit.stdout)?.[1] ?? '';
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const states = new DeviceStateStore(redis, { prefix: `${prefix}:` });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await states.get(DEAD_TV)).state !== 'quarantined')
        await new Promise((r) => setTimeout(r, 200));
      deadState = (await states.get(DEAD_TV)).state;
    } finally {
      redis.disconnect();
    }

    const scope = ['--inventory', inventory, '--prefix', `${prefix}:`];
    await cliAs('devices list', ['devices', 'list', ...scope]);
    await cliAs('devices list --json', ['devices', 'list', '--json', ...scope]);
    await cliAs('devices check', ['devices', 'check', ...scope]);
    await cliAs('devices check --quick', ['devices', 'check', '--quick', ...scope]);
    await cliAs('results show', ['results', 'show', runId], { DEVLAB_TOKEN: acme });

    await getRunAnswers((p) => request('GET', p, acme), runId);
    // An admin who quotes the hub URL in a block reason: stored and shown masked.
    await request('POST', `/api/devices/${TV}/block`, admin, {
      reason: `hub ${withKey(hub.port)} rotating keys`,
    });
    await request('GET', '/api/devices', admin);
    await request('POST', `/api/devices/${TV}/unblock`, admin, { reason: 'keys rotated' });

    await captureStoppedLab(capture, {
      server: server!,
      agent,
      home,
      prefix,
      tables: ['events', 'attempts', 'jobs', 'runs', 'artifacts'],
    });
  }, 240_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await hub?.close();
    await appium?.stop();
    if (up) {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const text = (source: string) => {
    const t = captured.get(source);
    expect(t, source).toBeDefined();
    return t!;
  };

  it.skipIf(!up)(
    'the captures are real: sessions went through the hub with the key, the dead hub was quarantined',
    () => {
      const masked = `http://***:***@127.0.0.1:${hub!.port}/`;
      const deadMasked = `http://***:***@127.0.0.1:${deadPort}/`;
      // The agent's sessions (and the CLI's session probe) went through the hub, every request authorized.
      expect(
        hub!.requests.filter((r) => r.method === 'POST' && r.path === '/session').length,
      ).toBeGreaterThanOrEqual(2);
      expect(hub!.requests.filter((r) => !r.authorized)).toEqual([]);
      expect(readFileSync(inventory, 'utf8')).toContain(HUB_KEY);

      expect(text('agent log (stdout+stderr)')).toContain(`devlab agent ${AGENT}: 2 device(s)`);
      expect(text('agent log (stdout+stderr)')).toContain(
        `Appium hub ${deadMasked} does not answer; not starting one`,
      );
      expect(text('agent log (stdout+stderr)')).toContain(
        `${DEAD_TV}: available → quarantined (health: Appium /status on ${deadMasked} did not answer`,
      );
      // The TV passed, the dead one errored: an infrastructure error, exit code 2.
      expect(text('cli: run submit --wait')).toContain(`run ${runId}: 2 job(s) planned`);
      expect(submitCode).toBe(2);
      expect(deadState).toBe('quarantined');
      for (const source of [
        'cli: results show',
        `GET /api/runs/${runId}/results`,
        'table attempts',
        'table events',
      ])
        expect(text(source), source).toContain(`Appium session on ${deadMasked} for ${DEAD_TV} failed`);
      // Reasons and settings, masked, for partners and admins, in the CLI's table and JSON.
      for (const source of ['GET /api/devices', 'cli: devices list --json']) {
        expect(text(source).replaceAll('": "', '":"'), source).toContain(`"server":"${masked}"`);
        expect(text(source), source).toContain(
          `Appium /status on ${deadMasked} did not answer: ECONNREFUSED`,
        );
      }
      expect(text('cli: devices list')).toContain(`health: Appium /status on ${deadMasked} did not answer`);
      // Free text keeps the URL as written, only its credentials masked (no trailing slash added).
      expect(text('GET /api/devices')).toContain(`"reason":"hub ${masked.slice(0, -1)} rotating keys"`);
      // The CLI's checks: the hub passes (a session probe through it), the dead one fails.
      expect(text('cli: devices check')).toMatch(
        new RegExp(`ok +${TV} +appium +Appium \\S+ ready, session probe`),
      );
      expect(text('cli: devices check')).toContain(`FAIL  ${DEAD_TV}`);
      expect(text('cli: devices check --quick')).toContain(
        `Appium /status on ${deadMasked} did not answer: ECONNREFUSED`,
      );
      expect(codes.get('devices check')).toBe(1);
      const logs = [...captured.keys()].filter(
        (k) => k.startsWith('file artifacts') && k.endsWith('test.log'),
      );
      expect(logs.length).toBeGreaterThanOrEqual(1);
      expect(logs.map((k) => captured.get(k)).join('')).toContain(`"server":"${masked.slice(0, -1)}"`);
      expect(text('redis')).toContain(`${DEAD_TV}:health`);
      expect(text('redis')).toContain(deadMasked);
    },
  );

  it.skipIf(!up)('the key (and its Basic token) appears nowhere', () => {
    const leaks: string[] = [];
    for (const [source, t] of captured) {
      if (t.includes(HUB_KEY)) leaks.push(`hub key in ${source}`);
      if (t.includes(HUB_BASIC)) leaks.push(`hub Basic token in ${source}`);
    }
    expect(captured.size).toBeGreaterThan(15);
    expect(leaks).toEqual([]);
  });
});
