// The soak's own lab: a Redis prefix, a temp dir (suite, inventory, DEVLAB_HOME), the environment of its
// agents, and the state shared by the soak, its restarts and its cleanup. Created when first imported.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../harness/config/config.ts';
import type { ControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import { freePort } from '../../../devices/appium/free-port.ts';
import { redisConnection } from '../../../harness/queue/connection.ts';
import { PrivateRedis } from '../../support/private-redis.ts';
import { DEVICES_PER_AGENT, FAULTS, JOB_LOCK_MS, LEASE_TTL_MS } from './options.ts';
import { sleep } from './sleep.ts';

export const prefix = `devlab-soak-${process.pid}-${randomBytes(3).toString('hex')}`;
export const dir = mkdtempSync(path.join(tmpdir(), 'devlab-soak-'));
export const flakyDir = path.join(dir, 'flaky');
export const suitesDir = path.join(dir, 'suites');
export const inventoryFile = path.join(dir, 'inventory.yaml');
/** Where each execution of a soak test leaves a marker (so executions are counted apart from attempts). */
export const execDir = path.join(dir, 'executions');
/**
 * With Redis outages in the schedule the soak runs on a redis-server of its own (a free loopback port, its
 * data in the temp dir), started by `main` and stopped and started again by the outages: the shared Redis
 * is never paused. Without them, the shared one under the soak's own prefix.
 */
export const privateRedis = FAULTS.has('redis')
  ? new PrivateRedis(path.join(dir, 'redis'), await freePort())
  : null;
export const env: Record<string, string> = {
  DEVLAB_HOME: path.join(dir, 'home'),
  DEVLAB_REDIS_URL: privateRedis?.url ?? process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  DEVLAB_REDIS_PREFIX: prefix,
  DEVLAB_LEASE_TTL_MS: String(LEASE_TTL_MS),
  DEVLAB_JOB_LOCK_MS: String(JOB_LOCK_MS),
  DEVLAB_MAX_SESSIONS: String(DEVICES_PER_AGENT),
  DEVLAB_LOG_LEVEL: 'warn',
};
export const config = loadConfig({ env: { ...process.env, ...env } });
/** Data dir of the control plane and the agents (their spools are under it, the artifacts folder too). */
export const home = env['DEVLAB_HOME']!;
export const artifactsDir = path.join(home, 'artifacts');
// Connects on its first command: a private redis-server is started by `main`.
export const redis = redisConnection(config.redisUrl, { lazyConnect: true });

/** What the modules of the soak share and change. */
export const state = {
  /** Null while the control plane is restarted (a control-plane outage). */
  server: null as ControlPlaneService | null,
  /** The control plane's URL: the same port across its restarts, so agents keep it. */
  url: '',
  /** Calls into the control plane in flight (see `withServer`): a restart waits for them first. */
  serverUsers: 0,
  /** The cleanup has begun: no agent is started any more. */
  stopping: false,
  /** Ctrl-C (or SIGTERM/SIGHUP) arrived: the signal handler cleans up and exits 130. */
  interrupted: false,
};

/** Runs `use` on the control plane, waiting while it is restarted; its restart waits for `use` to end. */
export async function withServer<T>(use: (server: ControlPlaneService) => Promise<T> | T): Promise<T> {
  while (!state.server) {
    if (state.stopping) throw new Error('the soak is stopping');
    await sleep(50);
  }
  state.serverUsers++;
  try {
    return await use(state.server);
  } finally {
    state.serverUsers--;
  }
}
