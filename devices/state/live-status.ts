import type { Redis } from 'ioredis';
import type { DeviceRecord, DeviceState } from '../device.ts';
import { DEFAULT_KEY_PREFIX } from '../device-keys.ts';
import { LeaseManager } from '../lease/lease-manager.ts';
import { DeviceStateStore } from './state-store.ts';

export interface LiveStatus {
  deviceId: string;
  state: DeviceState;
  reason: string;
  since: number;
  holder: string | null;
}

/** State and lease holder of each device, as Redis knows them now. */
export async function liveStatus(
  redis: Redis,
  devices: DeviceRecord[],
  prefix = DEFAULT_KEY_PREFIX,
): Promise<LiveStatus[]> {
  const states = new DeviceStateStore(redis, { prefix });
  const leases = new LeaseManager(redis, { prefix });
  return Promise.all(
    devices.map(async (d) => {
      const [status, lease] = await Promise.all([states.get(d.id), leases.holder(d.id)]);
      return {
        deviceId: d.id,
        state: status.state,
        reason: status.reason,
        since: status.since,
        holder: lease?.holder ?? null,
      };
    }),
  );
}
