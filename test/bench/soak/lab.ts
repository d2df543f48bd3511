// The soak's own lab: a Redis prefix, a temp dir (suite, inventory, DEVLAB_HOME), the environment of its
// agents, and the state shared by the soak, its restarts and its cleanup. Created when first imported.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../harness/config/config.ts';
import type { ControlPlaneService } from '../../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../../harness/queue/connection.ts';
import { DEVICES_PER_AGENT, JOB_LOCK_MS, LEASE_TTL_MS } from './options.ts';

export const prefix = `devlab-soak-${process.pid}-${randomBytes(3).toString('hex')}`;
export const dir = mkdtempSync(path.join(tmpdir(), 'devlab-soak-'));
export const flakyDir = path.join(dir, 'flaky');
export const suitesDir = path.join(dir, 'suites');
export const inventoryFile = path.join(dir, 'inventory.yaml');
export const env: Record<string, string> = {
  DEVLAB_HOME: path.join(dir, 'home'),
  DEVLAB_REDIS_URL: process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  DEVLAB_REDIS_PREFIX: prefix,
  DEVLAB_LEASE_TTL_MS: String(LEASE_TTL_MS),
  DEVLAB_JOB_LOCK_MS: String(JOB_LOCK_MS),
  DEVLAB_MAX_SESSIONS: String(DEVICES_PER_AGENT),
  DEVLAB_LOG_LEVEL: 'warn',
};
export const config = loadConfig({ env: { ...process.env, ...env } });
export const redis = redisConnection(config.redisUrl);

/** What the modules of the soak share and change. */
export const state = {
  server: null as ControlPlaneService | null,
  /** The cleanup has begun: no agent is started any more. */
  stopping: false,
  /** Ctrl-C (or SIGTERM/SIGHUP) arrived: the signal handler cleans up and exits 130. */
  interrupted: false,
};
