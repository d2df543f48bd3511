import type { DeviceRecord } from '../device.ts';
import type { DeviceDriver } from '../driver.ts';
import { DeviceError } from '../errors.ts';
import { AppiumSession } from './appium-session.ts';
import type { AppiumLog } from './log.ts';
import { type AppiumSettings, appiumSettingsSchema } from './settings.ts';

export function appiumSettings(device: DeviceRecord): AppiumSettings {
  const parsed = appiumSettingsSchema.safeParse(device.settings);
  if (!parsed.success) {
    throw new DeviceError('config', `Device ${device.id}: invalid appium settings: ${parsed.error.message}`, {
      deviceId: device.id,
    });
  }
  return parsed.data;
}

/** Devices driven through an Appium server (emulated TVs on the chromium driver, real ones elsewhere). */
export class AppiumDriver implements DeviceDriver<AppiumSettings> {
  readonly kind = 'appium' as const;
  readonly settingsSchema = appiumSettingsSchema;

  /** `log`: where sessions say what happened off a test (a stale reused session replaced). */
  constructor(private readonly options: { log?: AppiumLog } = {}) {}

  async openSession(device: DeviceRecord): Promise<AppiumSession> {
    return new AppiumSession(device, appiumSettings(device), this.options.log).open();
  }
}
