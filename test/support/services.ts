import Docker from 'dockerode';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const DOCKER_SOCKET = process.env['DEVLAB_DOCKER_SOCKET'] ?? '/var/run/docker.sock';
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMEDRIVER = '/usr/bin/chromedriver';
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function redisUp(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function dockerUp(): Promise<boolean> {
  try {
    await new Docker({ socketPath: DOCKER_SOCKET, timeout: 3000 }).ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether an integration test may run. Under CI a missing real service is a failure, never a skip:
 * this throws, so the suite goes red. On a developer machine it returns false and the test is skipped.
 */
export async function requireService(name: string, up: () => Promise<boolean>): Promise<boolean> {
  if (await up()) return true;
  const message = `${name} is not reachable; run \`bash harness/setup/setup.sh\``;
  if (process.env['CI']) throw new Error(message);
  console.warn(`skipping: ${message}`);
  return false;
}
