import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CHROMIUM_ARGS as BROWSER_ARGS } from '../../devices/browser/browser-driver.ts';
import { dockerReachable, redisReachable } from '../../harness/lab/local-services.ts';

/*
 * The tests' one skip policy. A test needing a real service asks `requireService` whether it may run:
 * under CI (`.ci/run` exports CI=true) a missing service fails the test file, never skips it; on a
 * developer machine the test is skipped with a warning naming the service.
 */

export const REDIS_URL = process.env['DEVLAB_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const DOCKER_SOCKET = process.env['DEVLAB_DOCKER_SOCKET'] ?? '/var/run/docker.sock';
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMEDRIVER = '/usr/bin/chromedriver';
/** The flags devlab's browser driver launches Debian's Chromium with, plus headless for WebDriver. */
export const CHROMIUM_ARGS = ['--headless=new', ...BROWSER_ARGS];

/** Running under CI: CI set to anything but empty, `false` or `0`. */
export const IN_CI = !['', 'false', '0'].includes((process.env['CI'] ?? '').trim().toLowerCase());

export const redisUp = (): Promise<boolean> => redisReachable(REDIS_URL);
export const dockerUp = (): Promise<boolean> => dockerReachable(DOCKER_SOCKET);

/** Debian's Chromium answers `--version` (Appium's chromium driver and the browser driver start it). */
export async function chromiumUp(): Promise<boolean> {
  try {
    await promisify(execFile)(CHROMIUM, ['--version'], { timeout: 10_000 });
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
  if (IN_CI) throw new Error(message);
  console.warn(`skipping: ${message}`);
  return false;
}
