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
  options: {
    prefix?: string;
    /** Which devices are reserved, by whom and until when (the reservation service's `byDevice`). */
    reservations?: () => Promise<ReadonlyMap<string, { partner: string; until: number }>>;
  } = {},
): DevicesProvider {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const states = new DeviceStateStore(redis, { prefix });
  const move = (to: DeviceState) => (id: string, reason: string, by?: string) =>
    states.transition(id, to, reason, by ?? 'api');
  return {
    async list(): Promise<DeviceView[]> {
      const [live, reserved] = await Promise.all([
        liveStatus(redis, [...inventory], prefix),
        options.reservations?.() ?? new Map<string, { partner: string; until: number }>(),
      ]);
      return inventory.map((d, i) => {
        const status = live[i]!;
        const reservation = reserved.get(d.id);
        return {
          // The whole record: the inventory's secretCapabilities too, not only the usual secret key
          // names, and URL credentials anywhere (an Appium hub URL with its access key).
          ...redactDevice(d),
          state: status.state,
          // Every partner reads it: a health failure's reason may quote the hub URL (masked at the
          // source too; this is the API's own).
          ...(status.reason ? { reason: redactText(status.reason) } : {}),
          ...(status.holder ? { leaseHolder: status.holder } : {}),
          ...(reservation ? { reservation } : {}),
        };
      });
    },
    block: move('blocked'),
    unblock: move('available'),
    drain: move('draining'),
  };
}
