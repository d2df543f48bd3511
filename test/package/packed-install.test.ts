import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type DevlabProcess, spawnDevlab } from '../support/agent-process.ts';
import { dropPrefix } from '../support/redis-keys.ts';
import { dockerUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';

const execFileAsync = promisify(execFile);

const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));

const tag = randomBytes(4).toString('hex');
const HOST = `partner-host-${tag}`;
const PREFIX = `partner-${tag}`;
/** Outside the checkout: nothing there can resolve devlab's sources or its node_modules. */
const work = mkdtempSync(path.join(tmpdir(), 'devlab-packed-'));
const repo = path.join(work, 'partner-repo');

/** The environment of a command in the partner's repo: none of npm's own variables from this test run. */
const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !k.startsWith('DEVLAB_')),
  );

async function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd,
      env: { ...cleanEnv(), ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function mustRun(
  command: string,
  args: string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  const result = await run(command, args, cwd, env);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * `npm pack` of the checkout (its `prepack` builds dist/), then the tarball installed into the partner's repo
 * from the npm cache. Install scripts are skipped: they would compile better-sqlite3 and friends from source
 * (minutes on 2 cores) or try prebuilt-binary hosts beyond the registry; what devlab needs of them, the
 * better-sqlite3 binding, is taken from the checkout's own build when the versions match.
 */
async function packAndInstall(): Promise<void> {
  const packDir = path.join(work, 'pack');
  mkdirSync(packDir);
  await mustRun('npm', ['pack', '--pack-destination', packDir, '--silent'], PROJECT_ROOT);
  const tarball = path.join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
  const install = ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball];
  const offline = await run('npm', [...install, '--offline'], repo);
  if (offline.code !== 0) await mustRun('npm', [...install, '--prefer-offline'], repo);
  const binding = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const version = (dir: string) =>
    (
      JSON.parse(readFileSync(path.join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  if (version(repo) === version(PROJECT_ROOT) && existsSync(path.join(PROJECT_ROOT, binding))) {
    mkdirSync(path.dirname(path.join(repo, binding)), { recursive: true });
    copyFileSync(path.join(PROJECT_ROOT, binding), path.join(repo, binding));
  } else {
    // From source: prebuild-install would fetch a binary from beyond the registry.
    await mustRun('npm', ['rebuild', 'better-sqlite3'], repo, { npm_config_build_from_source: 'true' });
  }
}

/** The partner's app under test: one page on loopback. */
function startApp(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(
      '<!doctype html><html><head><title>Partner shop</title></head><body><button id="buy">Buy</button></body></html>',
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Two UI tests importing the test API from the installed package: one passes, one fails on purpose. */
const UI_TESTS = `import { defineTest, expect } from 'devlab';

const meta = (id: string, title: string) => ({
  id,
  title,
  tags: ['partner'],
  component: 'shop',
  owner: 'partner-qa',
  timeoutMs: 30_000,
  requires: { drivers: ['browser' as const] },
});

export default [
  defineTest(meta('partner.ui.title', 'The shop page has its title'), async ({ page, appUrl }) => {
    await page!.goto(appUrl);
    expect(await page!.title()).toBe('Partner shop');
  }),
  defineTest(meta('partner.ui.checkout', 'The shop page has a checkout button'), async ({ page, appUrl }) => {
    await page!.goto(appUrl);
    expect(await page!.locator('#checkout').count()).toBe(1);
  }),
];
`;

/** A container test, in a folder of another repo that the partner's repo links to. */
const BOX_MANIFEST = `id: partner.box.boot
title: The box boots with its configuration
tags: [partner]
component: box
owner: partner-platform
image: devlab/stb-reference:1
command: [/opt/conformance/run.sh, boot]
timeoutMs: 120000
requires:
  drivers: [docker]
results: /results/junit.xml
`;

const BOX_DEVICE = `  - id: partner-box
    name: Partner box
    driver: docker
    model: PB-1
    platform: stblinux
    os: busybox
    firmware: "2.3.1"
    host: ${JSON.stringify(HOST)}
    tags: [stb]
    capabilities: { codecs: [h264], hdr: [], drm: { widevine: L1 }, resolution: 1080p, memoryMb: 2048, input: [dpad] }
    settings: { image: "devlab/stb-reference:1", build: stb-reference-1, memoryMb: 64 }
`;

/** A JUnit report as test case name → verdict. */
function verdicts(xml: string): Map<string, string> {
  const parser = new XMLParser({
    ignoreAttributes: false,
    isArray: (name) => ['testsuite', 'testcase'].includes(name),
  });
  const doc = parser.parse(xml) as {
    testsuites?: { testsuite?: { testcase?: Record<string, unknown>[] }[] };
  };
  const out = new Map<string, string>();
  for (const suite of doc.testsuites?.testsuite ?? []) {
    for (const c of suite.testcase ?? []) {
      const verdict = c['failure']
        ? 'failed'
        : c['error']
          ? 'error'
          : c['skipped'] !== undefined
            ? 'skipped'
            : 'passed';
      out.set(String(c['@_name']), verdict);
    }
  }
  return out;
}

describe.skipIf(!up)('devlab packed and installed in a partner repo outside the checkout', () => {
  let app: Server;
  const processes: DevlabProcess[] = [];

  beforeAll(async () => {
    app = await startApp();
    mkdirSync(repo, { recursive: true });
    // No "type": "module": the partner's TypeScript test files are CommonJS to Node.
    writeFileSync(
      path.join(repo, 'package.json'),
      '{ "name": "partner-repo", "version": "1.0.0", "private": true }\n',
    );
    await packAndInstall();
    await mustRun('npx', ['devlab', 'init', '--host', HOST], repo);

    writeFileSync(path.join(repo, 'devlab/tests/shop.test-def.ts'), UI_TESTS);
    const platform = path.join(work, 'platform-repo/devlab-suite');
    mkdirSync(platform, { recursive: true });
    writeFileSync(path.join(platform, 'box.manifest.yaml'), BOX_MANIFEST);
    symlinkSync(platform, path.join(repo, 'devlab/containers'));
    appendFileSync(path.join(repo, 'devlab/inventory.yaml'), BOX_DEVICE);
    const config = path.join(repo, 'devlab.config.yaml');
    const scaffolded = readFileSync(config, 'utf8');
    expect(scaffolded).toMatch(/^suites: \[devlab\/tests\]/m);
    writeFileSync(
      config,
      `${scaffolded.replace(/^suites: \[devlab\/tests\]/m, 'suites: ["devlab/*"]')}redisUrl: ${REDIS_URL}\nredisPrefix: ${PREFIX}\napi: { port: ${await freePort()} }\n`,
    );
  }, 600_000);

  afterAll(async () => {
    for (const p of processes.splice(0).reverse()) await p.stop();
    app?.close();
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    await redis.connect();
    await dropPrefix(redis, PREFIX);
    await redis.quit();
    // A stopped `npx devlab` may leave its node child finishing a write into .devlab for a moment
    // (ENOTEMPTY seen once in CI): rmSync retries those, as Node documents for EBUSY/ENOTEMPTY.
    rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('installs compiled JavaScript: no TypeScript source of devlab, and no tsx in its start-up', () => {
    const installed = path.join(repo, 'node_modules/devlab');
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.[cm]?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) sources.push(file);
      }
    };
    walk(installed);
    expect(sources).toEqual([]);
    expect(existsSync(path.join(installed, 'dist/harness/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(installed, 'dist/harness/dashboard/public'))).toBe(true);
  });

  it('`npx devlab tests list` reads the suites of the repo config: globbed, symlinked, importing devlab', async () => {
    const { code, stdout, stderr } = await run('npx', ['devlab', 'tests', 'list', '--json'], repo);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const tests = JSON.parse(stdout) as { id: string; suite: string }[];
    expect(tests.map((t) => [t.id, t.suite]).sort()).toEqual([
      ['example.app-loads', 'tests'],
      ['partner.box.boot', 'containers'],
      ['partner.ui.checkout', 'tests'],
      ['partner.ui.title', 'tests'],
    ]);
  });

  it('runs the suite on its own lab: `npx devlab server`, `agent`, `run submit --wait --junit`', async () => {
    const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const npx = { cwd: repo, bin: ['npx', 'devlab'] as [string, ...string[]] };
    const track = (p: DevlabProcess) => processes.push(p);
    await spawnDevlab(
      'server',
      [],
      {},
      { ready: 'devlab server listening', startTimeoutMs: 90_000, track, ...npx },
    );
    await spawnDevlab(
      'agent',
      ['--host', HOST, '--app-url', appUrl],
      {},
      {
        ready: `devlab agent ${HOST}`,
        startTimeoutMs: 120_000,
        track,
        ...npx,
      },
    );
    const submit = await run(
      'npx',
      ['devlab', 'run', 'submit', '--query', 'tag:partner or tag:smoke', '--wait', '--junit', 'out.xml'],
      repo,
    );
    // 1: test failures (partner.ui.checkout fails on purpose), not 2 (infrastructure).
    expect(submit.code, `${submit.stdout}\n${submit.stderr}`).toBe(1);
    const junit = readFileSync(path.join(repo, 'out.xml'), 'utf8');
    const byName = verdicts(junit);
    expect(byName.get('example.app-loads')).toBe('passed');
    expect(byName.get('partner.ui.title')).toBe('passed');
    expect(byName.get('partner.ui.checkout')).toBe('failed');
    const boxCases = [...byName].filter(([name]) => name.startsWith('partner.box.boot'));
    expect(boxCases.length).toBeGreaterThan(0);
    expect(boxCases.filter(([, v]) => v !== 'passed')).toEqual([]);
    // The failure is devlab's own `expect`, as the partner's test used it.
    expect(junit).toMatch(/Expected: 1\s+Received: 0/);
  }, 300_000);
});
