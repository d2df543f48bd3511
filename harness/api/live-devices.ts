import type { Redis } from 'ioredis';
import type { DeviceRecord, DeviceState } from '../../devices/device.ts';
import { DEFAULT_KEY_PREFIX } from '../../devices/device-keys.ts';
import { redactDevice } from '../../devices/inventory/secrets.ts';
import { redactText } from '../../devices/redact.ts';
import { liveStatus } from '../../devices/state/live-status.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import type { DevicesProvider, DeviceView } from './devices-provider.ts';

/**
 * The device routes over the inventory and the Redis state machine (the same store the CLI's
 * `devices block|unblock|drain` writes). Records and reasons are redacted: they may hold Appium
 * credentials.
 */
export function liveDevicesProvider(
  redis: Redis,
  inventory: readonly DeviceRecord[],
  options: { prefix?: string } = {},
): DevicesProvider {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const states = new DeviceStateStore(redis, { prefix });
  const move = (to: DeviceState) => (id: string, reason: string, by?: string) =>
    states.transition(id, to, reason, by ?? 'api');
  return {
    async list(): Promise<DeviceView[]> {
      const live = await liveStatus(redis, [...inventory], prefix);
      return inventory.map((d, i) => {
        const status = live[i]!;
        return {
          // The whole record: the inventory's secretCapabilities too, not only the usual secret key
          // names, and URL credentials anywhere (an Appium hub URL with its access key).
          ...redactDevice(d),
          state: status.state,
          // Every partner reads it: a health failure's reason may quote the hub URL (masked at the
          // source too; this is the API's own).
          ...(status.reason ? { reason: redactText(status.reason) } : {}),
          ...(status.holder ? { leaseHolder: status.holder } : {}),
        };
      });
    },
    block: move('blocked'),
    unblock: move('available'),
    drain: move('draining'),
  };
}
