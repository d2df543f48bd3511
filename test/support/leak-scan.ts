import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { Store } from '../../harness/store/store.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import type { AgentProcess, DevlabProcess } from './agent-process.ts';
import { scanKeys } from './redis-keys.ts';
import { REDIS_URL } from './services.ts';

/** Helpers of the tests that look for a secret everywhere devlab writes or answers. */

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const DEVLAB = path.join(PROJECT_ROOT, 'harness/cli/devlab.js');

/** `devlab ...args` as a process, its output captured; killed after 90 s. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEVLAB, ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file under `dir` (absolute paths). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every value of every Redis key under `prefix`, as text (one line per key). */
export async function redisDump(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const key of await scanKeys(redis, `${prefix}*`)) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === 'string') value = await redis.get(key);
    else if (type === 'hash') value = await redis.hgetall(key);
    else if (type === 'list') value = await redis.lrange(key, 0, -1);
    else if (type === 'set') value = await redis.smembers(key);
    else if (type === 'zset') value = await redis.zrange(key, '0', '-1');
    else if (type === 'stream') value = await redis.xrange(key, '-', '+');
    else value = `(${type})`;
    parts.push(`${key} ${JSON.stringify(value)}`);
  }
  return parts.join('\n');
}

/** Where each captured text came from → the text; `capture` adds to a source's text (bytes as latin1). */
export function captureLog(): {
  captured: Map<string, string>;
  capture: (source: string, text: string | Buffer) => Map<string, string>;
} {
  const captured = new Map<string, string>();
  const capture = (source: string, text: string | Buffer) =>
    captured.set(
      source,
      (captured.get(source) ?? '') + (Buffer.isBuffer(text) ? text.toString('latin1') : text),
    );
  return { captured, capture };
}

/** The environment of a lab's server, agent and CLI processes: API auth on, the server on `port` at `url`. */
export function processLabEnv(o: {
  home: string;
  prefix: string;
  agentToken: string;
  port: number;
  url: string;
}): Record<string, string> {
  return {
    DEVLAB_HOME: o.home,
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: o.prefix,
    DEVLAB_AGENT_TOKEN: o.agentToken,
    DEVLAB_API_AUTH: 'true',
    DEVLAB_API_PORT: String(o.port),
    DEVLAB_SERVER_URL: o.url,
  };
}

/**
 * A partner token (acme) and an admin token (lab-ops), created in the store under `home` the server will
 * open: what `devlab tokens create` does (its one-time print of the token is the single place a token may
 * appear).
 */
export function createApiTokens(home: string): { acme: string; admin: string } {
  const tokenStore = Store.open(path.join(home, 'devlab.db'));
  try {
    const tokens = new TokensRepo(tokenStore.db);
    return { acme: tokens.create('acme').token, admin: tokens.create('lab-ops', 'admin').token };
  } finally {
    tokenStore.close();
  }
}

/** `devlab agent`'s arguments: `host`'s devices of `inventory`, tests from `suites`, results to `server`. */
export function agentArgs(host: string, inventory: string, suites: string, server: string): string[] {
  return [
    '--host',
    host,
    '--inventory',
    inventory,
    '--suites',
    suites,
    '--server',
    server,
    '--app-url',
    'http://127.0.0.1:9/',
  ];
}

/**
 * GETs (through `get`, which captures what it answers) the API's devices and runs, the run `runId`, its
 * results, JUnit and events, then every artifact its results link.
 */
export async function getRunAnswers(
  get: (p: string) => Promise<{ text: string }>,
  runId: string,
): Promise<void> {
  let results = '{}';
  for (const p of [
    '/api/devices',
    '/api/runs',
    `/api/runs/${runId}`,
    `/api/runs/${runId}/results`,
    `/api/runs/${runId}/junit`,
    `/api/runs/${runId}/events`,
  ]) {
    const { text } = await get(p);
    if (p === `/api/runs/${runId}/results`) results = text;
  }
  const { jobs } = JSON.parse(results) as { jobs?: { artifacts: { url: string }[] }[] };
  for (const a of (jobs ?? []).flatMap((j) => j.artifacts)) await get(a.url);
}

/**
 * Stops the server and the agent (so that everything they would write is written), then captures their
 * output, every file under `home`, the store's `tables` and every Redis key under `prefix`.
 */
export async function captureStoppedLab(
  capture: (source: string, text: string | Buffer) => unknown,
  o: { server: DevlabProcess; agent: AgentProcess; home: string; prefix: string; tables: string[] },
): Promise<void> {
  await o.agent.stop();
  await o.server.stop();
  capture('control plane log (stdout+stderr)', o.server.output());
  capture('agent log (stdout+stderr)', o.agent.output());
  for (const file of filesUnder(o.home)) capture(`file ${path.relative(o.home, file)}`, readFileSync(file));
  const store = Store.open(path.join(o.home, 'devlab.db'));
  try {
    for (const table of o.tables)
      capture(`table ${table}`, JSON.stringify(store.db.prepare(`SELECT * FROM ${table}`).all()));
  } finally {
    store.close();
  }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    capture('redis', await redisDump(redis, `${o.prefix}:`));
  } finally {
    redis.disconnect();
  }
}
