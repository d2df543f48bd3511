import { appiumSettings } from '../appium/appium-driver.ts';
import { fetchAppiumStatus } from '../appium/appium-server.ts';
import { AppiumSession } from '../appium/appium-session.ts';
import type { DeviceRecord } from '../device.ts';
import { redactUrl } from '../redact.ts';
import { type HealthResult, timed } from './health-check.ts';

/**
 * Appium `/status`, then (unless `statusOnly`) a short session that opens about:blank and ends. A hub URL
 * with credentials is asked with them as a Basic header; messages show it with its credentials masked.
 */
export function appiumHealth(
  device: DeviceRecord,
  options: { statusOnly?: boolean } = {},
): Promise<HealthResult> {
  return timed(device, async () => {
    const settings = appiumSettings(device);
    const server = redactUrl(settings.server);
    const status = await fetchAppiumStatus(settings.server, 3000);
    if (!status.ready) throw new Error(`Appium on ${server} is not ready`);
    if (options.statusOnly) return `Appium ${status.build?.version ?? '?'} ready`;
    const session = new AppiumSession(device, { ...settings, sessionReuse: 'fresh' });
    const result = await session.run(
      async ({ driver }) => {
        await driver?.url('about:blank');
      },
      { timeoutMs: 20_000 },
    );
    await session.close();
    if (result.status !== 'passed')
      throw new Error(`session probe ${result.status}: ${result.error?.message}`);
    return `Appium ${status.build?.version ?? '?'} ready, session probe ${Math.round(result.durationMs)} ms`;
  });
}
