import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type AgentProcess, type DevlabProcess, spawnAgent, spawnDevlab } from '../support/agent-process.ts';
import { containerBox } from '../support/container-box.ts';
import { dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import {
  agentArgs,
  captureLog,
  captureStoppedLab,
  createApiTokens,
  getRunAnswers,
  processLabEnv,
  runCli,
} from '../support/leak-scan.ts';

// Distinctive values: any of them found anywhere below is a leak.
const PAIRING_CODE = 'pairing-Zq7Xv93kLmN2wT'; // a capability marked secret by the inventory
const ACCESS_KEY = 'acckey-Jf83hQ01pWxR5s'; // a nested capability under a secret key name
const ENV_TOKEN = 'envtok-Bn4Yc82MdKq0Lp'; // a docker device's env under a secret key name
const AGENT_TOKEN = 'agenttok-Ht6Rr1Wq9ZsE3u';

const AGENT = 'agent-sec-secrets';
const TV = 'sec-secret-tv-1';
const BOX = 'sec-secret-box-1';

const inventoryYaml = (appiumUrl: string) => `
devices:${containerBox({ id: BOX, name: 'security secrets box', model: 'sec-secret-box', host: AGENT, memoryMb: 32, settings: { env: `{ API_TOKEN: ${ENV_TOKEN}, REGION: eu-west }` } })}
  - id: ${TV}
    name: security secrets TV
    driver: appium
    model: sec-secret-tv
    platform: auroraos
    os: AuroraOS 5.2
    firmware: '5.2.14'
    host: ${AGENT}
    capabilities: { codecs: [h264], resolution: 1080p, memoryMb: 1024, input: [dpad] }
    settings:
      server: ${appiumUrl}
      sessionReuse: fresh
      commandTimeoutMs: 5000
      secretCapabilities: ['vendor:pairingCode']
      capabilities:
        browserName: chrome
        platformName: linux
        vendor:pairingCode: ${PAIRING_CODE}
        cloud:options: { accessKey: ${ACCESS_KEY}, region: eu-west }
`;

const SUITE = `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
export default [
  defineTest(
    { id: 'sec.box', title: 'Box answers', tags: ['sec'], component: 'platform', owner: 'qa', requires: { drivers: ['docker'] } },
    async ({ container, attach, log, step, device }) => {
      const out = await step('echo', () => container.exec(['sh', '-c', 'echo box-ready']));
      attach('exec.txt', out.stdout);
      log.info('device under test', { id: device.id, model: device.model });
      if (out.stdout.trim() !== 'box-ready') throw new Error('no answer');
    },
  ),
  defineTest(
    { id: 'sec.tv', title: 'TV opens', tags: ['sec'], component: 'player', owner: 'qa', retries: 0, requires: { drivers: ['appium'] } },
    async ({ driver }) => {
      await driver.url('about:blank');
    },
  ),
];
`;

/**
 * An Appium endpoint that, like a Selenium Grid without a matching node, refuses every session with an
 * error quoting the capabilities it was sent; /status says ready, so the agent starts no Appium of its own.
 */
function startGridStub(): Promise<{ url: string; received: string[]; close(): Promise<void> }> {
  const received: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/status') {
        res.end(JSON.stringify({ value: { ready: true, build: { version: 'grid-stub' } } }));
        return;
      }
      if (req.method === 'POST' && req.url === '/session') {
        received.push(body);
        const caps = (JSON.parse(body) as { capabilities?: { alwaysMatch?: unknown } }).capabilities;
        res.statusCode = 500;
        res.end(
          JSON.stringify({
            value: {
              error: 'session not created',
              message: `Could not start a new session. No node supports the capabilities in the request: Capabilities ${JSON.stringify(caps?.alwaysMatch ?? caps)}`,
              stacktrace: 'org.openqa.selenium.SessionNotCreatedException',
            },
          }),
        );
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ value: { error: 'unknown command', message: req.url } }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        received,
        close: () => new Promise((r) => server.close(() => r())),
      });
    }),
  );
}

/** `devlab server` as a real process, its output captured. Resolves once it listens. */
function spawnServer(args: string[], env: Record<string, string>): Promise<DevlabProcess> {
  return spawnDevlab('server', args, env, { ready: 'devlab server listening on' });
}

describe('secrets never reach logs, artifacts, reports, CLI or API output (real server and agent processes)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-sec-secrets-'));
  const home = path.join(dir, 'home');
  const inventory = path.join(dir, 'inventory.yaml');
  const suites = path.join(dir, 'suites');
  const junitFile = path.join(dir, 'report.xml');
  const prefix = `devlab-sec-secrets-${process.pid}`;
  let env: Record<string, string>;
  let grid: Awaited<ReturnType<typeof startGridStub>>;
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  let agent: AgentProcess | undefined;
  let url: string;
  let acme: string;
  let admin: string;
  let runId: string;
  let submitCode: number | null = null;
  /** Where each captured text came from → the text. */
  const { captured, capture } = captureLog();

  const get = async (p: string, token: string) => {
    const res = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    capture(`GET ${p}`, text);
    return { status: res.status, text };
  };

  beforeAll(async () => {
    if (!up) return;
    grid = await startGridStub();
    mkdirSync(suites, { recursive: true });
    writeFileSync(path.join(suites, 'package.json'), '{"type":"module"}\n');
    writeFileSync(path.join(suites, 'sec.test-def.ts'), SUITE);
    writeFileSync(inventory, inventoryYaml(grid.url));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = processLabEnv({ home, prefix, agentToken: AGENT_TOKEN, port, url });
    ({ acme, admin } = createApiTokens(home));
    // The agent needs the server only once it uploads, so both start at once.
    const serverStarting = spawnServer(
      ['--port', String(port), '--inventory', inventory, '--suites', suites],
      env,
    ).then((s) => (server = s));
    serverStarting.catch(() => {});
    agent = await spawnAgent(agentArgs(AGENT, inventory, suites, url), env);
    await serverStarting;
    const submit = await runCli(
      [
        'run',
        'submit',
        '--query',
        'tag:sec',
        '--build',
        'b-secrets',
        '--priority',
        'ci-pr',
        '--wait',
        '--junit',
        junitFile,
      ],
      { ...env, DEVLAB_TOKEN: acme },
    );
    capture('cli: run submit --wait', `${submit.stdout}${submit.stderr}`);
    submitCode = submit.code;
    runId = /run (\S+): /.exec(submit.stdout)?.[1] ?? '';
    capture(
      'JUnit file from run submit --junit',
      existsSync(junitFile) ? readFileSync(junitFile, 'utf8') : '',
    );

    const cliAs = (source: string, args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { ...env, ...extra }).then((r) => {
        capture(`cli: ${source}`, `${r.stdout}${r.stderr}`);
        return r;
      });
    await Promise.all([
      cliAs('devices list --json', [
        'devices',
        'list',
        '--json',
        '--inventory',
        inventory,
        '--prefix',
        `${prefix}:`,
      ]),
      // A full health check opens a session on the TV: the Grid's refusal quotes the capabilities.
      cliAs('devices check', ['devices', 'check', TV, '--inventory', inventory, '--prefix', `${prefix}:`]),
      cliAs('results show', ['results', 'show', runId], { DEVLAB_TOKEN: acme }),
    ]);

    await getRunAnswers((p) => get(p, acme), runId);
    await get('/api/report', admin);
    await get('/api/report.json', admin);
    await get('/api/devices', admin);

    await captureStoppedLab(capture, {
      server: server!,
      agent,
      home,
      prefix,
      tables: ['events', 'attempts', 'jobs', 'runs', 'artifacts', 'api_tokens'],
    });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await grid?.close();
    if (up) {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const SECRETS = () => ({
    'secret capability (secretCapabilities)': PAIRING_CODE,
    'accessKey capability': ACCESS_KEY,
    'docker env token': ENV_TOKEN,
    'agent token': AGENT_TOKEN,
    'acme API token': acme,
    'admin API token': admin,
  });

  it.skipIf(!up)('the captures are real: the run happened and every source holds what it should', () => {
    // The secrets did travel: the Grid was sent them, so an echo had something to leak.
    expect(grid.received.length).toBeGreaterThanOrEqual(2);
    expect(grid.received.join('')).toContain(PAIRING_CODE);
    expect(grid.received.join('')).toContain(ACCESS_KEY);
    expect(readFileSync(inventory, 'utf8')).toContain(PAIRING_CODE);
    expect(acme).toMatch(/^dlb_/);
    expect(admin).toMatch(/^dlb_/);
    expect(runId).toMatch(/\S/);

    const text = (source: string) => {
      const t = captured.get(source);
      expect(t, source).toBeDefined();
      return t!;
    };
    expect(text('control plane log (stdout+stderr)')).toContain('devlab server listening on');
    expect(text('agent log (stdout+stderr)')).toContain(`devlab agent ${AGENT}: 2 device(s)`);
    expect(text('cli: run submit --wait')).toContain(`run ${runId}: 2 job(s) planned`);
    // The box passed, the TV's sessions were all refused: an infrastructure error, exit code 2.
    expect(submitCode).toBe(2);
    // The Grid's refusal reached the results, with the capabilities in it, the secret ones scrubbed.
    for (const source of [
      'cli: results show',
      `GET /api/runs/${runId}/results`,
      'JUnit file from run submit --junit',
      'table events',
      'table attempts',
      'cli: devices check',
    ]) {
      expect(text(source), source).toContain('Could not start a new session');
      expect(text(source), source).toContain('vendor:pairingCode');
      expect(text(source), source).toContain('***');
    }
    expect(text('table events')).toContain('job.retry');
    expect(text(`GET /api/runs/${runId}/events`)).toContain('event: run.finished');
    expect(text('cli: devices list --json')).toContain(TV);
    expect(text('cli: devices list --json')).toContain('vendor:pairingCode');
    expect(text('GET /api/devices')).toContain('vendor:pairingCode');
    expect(text('GET /api/devices')).toContain('"API_TOKEN":"***"');
    expect(text('GET /api/report')).toContain('sec.box');
    const artifactSources = [...captured.keys()].filter((k) => k.startsWith('file artifacts'));
    expect(artifactSources.length).toBeGreaterThanOrEqual(2);
    expect(artifactSources.map((k) => captured.get(k)).join('')).toContain('box-ready');
    expect(text('redis').length).toBeGreaterThan(100);
    // Reports leave Redis once stored (the report stream is emptied); the attempts' queue jobs stay.
    expect(text('redis')).toContain('sec.tv');
  });

  it.skipIf(!up)('no secret and no plaintext token appears in any of them', () => {
    const leaks: string[] = [];
    for (const [source, text] of captured) {
      for (const [name, secret] of Object.entries(SECRETS())) {
        if (text.includes(secret)) leaks.push(`${name} in ${source}`);
      }
    }
    expect(captured.size).toBeGreaterThan(20);
    expect(leaks).toEqual([]);
  });
});
