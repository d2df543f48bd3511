import type { DevlabConfig } from './config.ts';

/**
 * The agent host's local Appium server as the config names it (`appium.host`, `appium.port`,
 * `DEVLAB_APPIUM_HOST` / `DEVLAB_APPIUM_PORT`): the server of every Appium device that names none in the
 * inventory, which the host's agents start and keep running, and the one `devlab doctor` checks.
 */
export function localAppiumUrl(config: Pick<DevlabConfig, 'appium'>): string {
  const { host, port } = config.appium;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
