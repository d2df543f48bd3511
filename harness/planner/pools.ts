import { createHash } from 'node:crypto';
import type { DeviceRecord } from '../../devices/device.ts';

/**
 * Devices that are interchangeable for a test: same driver, model, firmware and capabilities.
 * A job targets a pool, so any free device of it may run the job and a slow or lost device never
 * blocks the rest.
 */
export function poolKey(device: DeviceRecord): string {
  const caps = createHash('sha1').update(JSON.stringify(device.capabilities)).digest('hex').slice(0, 6);
  return `${device.driver}:${device.model}@${device.firmware}#${caps}`;
}

export function groupPools(devices: readonly DeviceRecord[]): Map<string, DeviceRecord[]> {
  const pools = new Map<string, DeviceRecord[]>();
  for (const device of devices) {
    const key = poolKey(device);
    const members = pools.get(key);
    if (members) members.push(device);
    else pools.set(key, [device]);
  }
  return pools;
}
