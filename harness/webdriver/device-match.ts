import type { DeviceRecord, DeviceState } from '../../devices/device.ts';
import { UNLEASABLE_STATES } from '../../devices/state/transitions.ts';
import { isQueryError } from '../../suites/query/errors.ts';
import { compileDeviceQuery } from '../../suites/query/query.ts';
import type { CapabilityChoice } from './session-capabilities.ts';
import { WebDriverError } from './webdriver-error.ts';

type Caps = Record<string, unknown>;

const same = (a: unknown, b: unknown) => String(a).toLowerCase() === String(b).toLowerCase();

/**
 * Why the device cannot serve these client capabilities, or null when it can. Only Appium devices serve
 * WebDriver sessions; `platformName` is the device's platform (`auroraos`) or its Appium one (`linux`);
 * `browserName` and `appium:automationName`, when the device's own capabilities set them, must agree.
 */
export function mismatch(device: DeviceRecord, client: Caps): string | null {
  if (device.driver !== 'appium') return `${device.id} is a ${device.driver} device, not an Appium one`;
  const own = (device.settings['capabilities'] ?? {}) as Caps;
  const platform = client['platformName'];
  if (platform !== undefined && !same(platform, device.platform) && !same(platform, own['platformName']))
    return `${device.id} is platform ${device.platform}${own['platformName'] ? ` (Appium: ${String(own['platformName'])})` : ''}, not ${String(platform)}`;
  for (const key of ['browserName', 'appium:automationName']) {
    if (client[key] !== undefined && own[key] !== undefined && !same(client[key], own[key]))
      return `${device.id} has ${key} ${String(own[key])}, not ${String(client[key])}`;
  }
  return null;
}

/** The first choice some device can serve, with those devices (inventory order). */
export interface DeviceMatch {
  choice: CapabilityChoice;
  selector: string;
  devices: DeviceRecord[];
}

const MAX_REASONS = 8;

/**
 * The devices that may serve a new session: those the choice's `devlab:selector` selects (all when none),
 * that are Appium devices agreeing with the client's capabilities and are not blocked, draining, offline or
 * quarantined. Whether they are free is the queue's business. Nothing matching is a `session not created`
 * that says why each selected device was left out; a bad selector an `invalid argument` with the caret.
 */
export function matchDevices(
  inventory: readonly (DeviceRecord & { state: DeviceState })[],
  choices: readonly CapabilityChoice[],
): DeviceMatch {
  const reasons: string[] = [];
  for (const choice of choices) {
    const selector = choice.devlab['devlab:selector'] ?? '';
    let matches: (d: DeviceRecord) => boolean;
    try {
      matches = compileDeviceQuery(selector);
    } catch (err) {
      if (!isQueryError(err)) throw err;
      throw new WebDriverError('invalid argument', `devlab:selector: ${err.message}\n${err.caret}`);
    }
    const selected = inventory.filter((d) => matches(d));
    if (selected.length === 0) reasons.push(`the selector \`${selector}\` selects no device`);
    const devices: DeviceRecord[] = [];
    for (const { state, ...device } of selected) {
      const why = mismatch(device, choice.client);
      if (why) reasons.push(why);
      else if (UNLEASABLE_STATES.includes(state)) reasons.push(`${device.id} is ${state}`);
      else devices.push(device);
    }
    if (devices.length) return { choice, selector, devices };
  }
  const shown = reasons.slice(0, MAX_REASONS).join('; ');
  const more = reasons.length > MAX_REASONS ? ` (and ${reasons.length - MAX_REASONS} more)` : '';
  throw new WebDriverError('session not created', `no device matches: ${shown}${more}`);
}
