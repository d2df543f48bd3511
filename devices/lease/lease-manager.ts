import type { Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX, type DeviceKeys, deviceKeys } from '../device-keys.ts';
import { UNLEASABLE_STATES } from '../state/transitions.ts';
import { ACQUIRE, KEEP, RELEASE, RENEW } from './scripts.ts';

export interface Lease {
  deviceId: string;
  holder: string;
  /** Fencing token: strictly increasing per device, so a late write from an old holder can be refused. */
  token: number;
  ttlMs: number;
  acquiredAt: number;
}

export type AcquireResult = { ok: true; lease: Lease } | { ok: false; reason: string };

type LeaseRedis = Redis & {
  devlabLeaseAcquire(
    lease: string,
    seq: string,
    state: string,
    holder: string,
    ttl: string,
    now: string,
    unleasable: string,
  ): Promise<[number, string]>;
  devlabLeaseRenew(lease: string, seq: string, state: string, token: string, ttl: string): Promise<number>;
  devlabLeaseRelease(lease: string, seq: string, state: string, token: string): Promise<number>;
  devlabLeaseKeep(
    lease: string,
    seq: string,
    state: string,
    token: string,
    ttl: string,
    unleasable: string,
  ): Promise<number>;
};

export interface LeaseManagerOptions {
  /** Same prefix as the state store, so that acquire can see the device's state (default `devlab:`). */
  prefix?: string;
  /** The lab's keys (a harness `LabKeys`); wins over `prefix`. */
  keys?: DeviceKeys;
}

/** TTL leases in Redis: a holder that dies loses its lease when the TTL runs out. */
export class LeaseManager {
  readonly prefix: string;
  private readonly redis: LeaseRedis;
  private readonly names: DeviceKeys;

  constructor(redis: Redis, options: LeaseManagerOptions = {}) {
    this.names = options.keys ?? deviceKeys(options.prefix ?? DEFAULT_KEY_PREFIX);
    this.prefix = this.names.keyPrefix;
    if (!('devlabLeaseAcquire' in redis)) {
      redis.defineCommand('devlabLeaseAcquire', { numberOfKeys: 3, lua: ACQUIRE });
      redis.defineCommand('devlabLeaseRenew', { numberOfKeys: 3, lua: RENEW });
      redis.defineCommand('devlabLeaseRelease', { numberOfKeys: 3, lua: RELEASE });
    }
    if (!('devlabLeaseKeep' in redis)) redis.defineCommand('devlabLeaseKeep', { numberOfKeys: 3, lua: KEEP });
    this.redis = redis as LeaseRedis;
  }

  private keys(deviceId: string): [string, string, string] {
    return [this.names.lease(deviceId), this.names.leaseSeq(deviceId), this.names.device(deviceId)];
  }

  async acquire(deviceId: string, holder: string, ttlMs: number): Promise<AcquireResult> {
    const now = Date.now();
    const [token, reason] = await this.redis.devlabLeaseAcquire(
      ...this.keys(deviceId),
      holder,
      String(Math.ceil(ttlMs)),
      String(now),
      UNLEASABLE_STATES.join(','),
    );
    if (!token) return { ok: false, reason };
    return { ok: true, lease: { deviceId, holder, token: Number(token), ttlMs, acquiredAt: now } };
  }

  /** False when the lease was lost (expired and possibly taken by someone else). */
  async renew(lease: Lease, ttlMs: number = lease.ttlMs): Promise<boolean> {
    const res = await this.redis.devlabLeaseRenew(
      ...this.keys(lease.deviceId),
      String(lease.token),
      String(Math.ceil(ttlMs)),
    );
    return res === 1;
  }

  async release(lease: Lease): Promise<boolean> {
    return (await this.redis.devlabLeaseRelease(...this.keys(lease.deviceId), String(lease.token))) === 1;
  }

  /**
   * Between two tests: keeps (and extends) the lease when the device may take more work; releases it
   * when its state says stop (blocked, draining, quarantined, offline). True when the lease is still held.
   */
  async keep(lease: Lease, ttlMs: number = lease.ttlMs): Promise<boolean> {
    const res = await this.redis.devlabLeaseKeep(
      ...this.keys(lease.deviceId),
      String(lease.token),
      String(Math.ceil(ttlMs)),
      UNLEASABLE_STATES.join(','),
    );
    return res === 1;
  }

  /** Current holder, if any. */
  async holder(deviceId: string): Promise<{ holder: string; token: number; ttlMs: number } | null> {
    const [key] = this.keys(deviceId);
    const [h, ttl] = await Promise.all([this.redis.hgetall(key), this.redis.pttl(key)]);
    if (!h['holder']) return null;
    return { holder: h['holder'], token: Number(h['token']), ttlMs: ttl };
  }

  /** Removes lease keys of a device (tests, decommissioning). */
  async forget(deviceId: string): Promise<void> {
    const [lease, seq] = this.keys(deviceId);
    await this.redis.del(lease, seq);
  }
}
