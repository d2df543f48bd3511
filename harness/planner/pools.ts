import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { DeviceRecord } from '../../devices/device.ts';

/**
 * A short hash of the device's capabilities, over a key-order-independent serialization: two copies of
 * an inventory that list the same capabilities in another order give the same pool (and queue).
 */
export function capabilitiesHash(device: DeviceRecord): string {
  return createHash('sha1')
    .update(stringify(device.capabilities) ?? '')
    .digest('hex')
    .slice(0, 6);
}

/**
 * Devices that are interchangeable for a test: same driver, model, firmware and capabilities.
 * A job targets a pool, so any free device of it may run the job and a slow or lost device never
 * blocks the rest.
 */
export function poolKey(device: DeviceRecord): string {
  return `${device.driver}:${device.model}@${device.firmware}#${capabilitiesHash(device)}`;
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
