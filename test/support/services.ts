import { CHROMIUM_ARGS as BROWSER_ARGS } from '../../devices/browser/browser-driver.ts';
import { dockerReachable, redisReachable } from '../../harness/lab/local-services.ts';

export const REDIS_URL = process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const DOCKER_SOCKET = process.env['DEVLAB_DOCKER_SOCKET'] ?? '/var/run/docker.sock';
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMEDRIVER = '/usr/bin/chromedriver';
/** The flags devlab's browser driver launches Debian's Chromium with, plus headless for WebDriver. */
export const CHROMIUM_ARGS = ['--headless=new', ...BROWSER_ARGS];

export const redisUp = (): Promise<boolean> => redisReachable(REDIS_URL);
export const dockerUp = (): Promise<boolean> => dockerReachable(DOCKER_SOCKET);

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
