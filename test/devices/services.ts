import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { dockerReachable, redisReachable } from '../../harness/lab/local-services.ts';
import { scanKeys } from '../support/redis-keys.ts';

/** With CI=true a missing service fails the tests that need it; locally those tests are skipped. */
export const CI = process.env['CI'] === 'true';
export const REDIS_URL = process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const DOCKER_SOCKET = process.env['DEVLAB_DOCKER_SOCKET'] ?? '/var/run/docker.sock';
export const TEST_PREFIX = 'devlab-test-devices:';
export const TEST_APPIUM_PORT = 4790;

export const redisUp = (): Promise<boolean> => redisReachable(REDIS_URL);
export const dockerUp = (): Promise<boolean> => dockerReachable(DOCKER_SOCKET);

export function chromiumPresent(): boolean {
  try {
    execFileSync('/usr/bin/chromium', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Skip unless the service is up; under CI never skip, so the missing service fails loudly. */
export function skipUnless(up: boolean): boolean {
  return !up && !CI;
}

export function newRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under the test prefix. */
export async function cleanKeys(redis: Redis, prefix: string = TEST_PREFIX): Promise<void> {
  const keys = await scanKeys(redis, `${prefix}*`);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
}
