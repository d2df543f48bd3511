/** The key prefix of a lab that names none (`labKeys()` in harness/queue/names.ts: prefix `devlab`). */
export const DEFAULT_KEY_PREFIX = 'devlab:';

/**
 * The Redis keys of one device: its state, transition log, health counters and lease. The one place that
 * spells them: the state store, the health monitor and the lease manager read them here, and the
 * harness's `labKeys` (harness/queue/names.ts) composes them with its own keys under the lab's prefix.
 */
export interface DeviceKeys {
  /** Device states, leases, health counters and caps all start with it (e.g. `devlab:`). */
  keyPrefix: string;
  /** The device's state (a hash). */
  device(deviceId: string): string;
  /** The device's state transitions (a capped list). */
  deviceLog(deviceId: string): string;
  /** The device's consecutive failed health checks. */
  deviceHealth(deviceId: string): string;
  /** Who leases the device, with its fencing token. */
  lease(deviceId: string): string;
  /** The device's last fencing token (strictly increasing, outlives the lease). */
  leaseSeq(deviceId: string): string;
}

export function deviceKeys(keyPrefix: string = DEFAULT_KEY_PREFIX): DeviceKeys {
  return {
    keyPrefix,
    device: (id) => `${keyPrefix}device:${id}`,
    deviceLog: (id) => `${keyPrefix}device:${id}:log`,
    deviceHealth: (id) => `${keyPrefix}device:${id}:health`,
    lease: (id) => `${keyPrefix}lease:${id}`,
    leaseSeq: (id) => `${keyPrefix}lease-seq:${id}`,
  };
}
