import type { Redis } from 'ioredis';
import { DEVICE_STATES, type DeviceState } from '../device.ts';
import { DEFAULT_KEY_PREFIX, type DeviceKeys, deviceKeys } from '../device-keys.ts';
import { redactText } from '../redact.ts';
import { planTransition, type TransitionRecord } from './transitions.ts';

export interface DeviceStatus {
  deviceId: string;
  state: DeviceState;
  reason: string;
  by: string;
  since: number;
}

/** Compare-and-set so that two agents moving one device at once cannot both win. */
const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'state')
if not current then current = ARGV[6] end
if current ~= ARGV[1] then return current end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'reason', ARGV[3], 'by', ARGV[4], 'since', ARGV[5])
redis.call('LPUSH', KEYS[2], ARGV[7])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[8]) - 1)
return 'OK'
`;

type CasRedis = Redis & {
  devlabStateCas(
    stateKey: string,
    logKey: string,
    expected: string,
    next: string,
    reason: string,
    by: string,
    since: string,
    initial: string,
    entry: string,
    cap: string,
  ): Promise<string>;
};

export interface StateStoreOptions {
  /** Key prefix, e.g. `devlab:`; keys are `<prefix>device:<id>` and `<prefix>device:<id>:log`. */
  prefix?: string;
  /** Transitions kept per device. */
  logCap?: number;
  /** State of a device Redis has never seen. */
  initialState?: DeviceState;
}

/** Device states and their transition logs in Redis; the rules live in `transitions.ts`. */
export class DeviceStateStore {
  readonly prefix: string;
  /** The device keys under `prefix` (the health monitor keeps its counters beside the state). */
  readonly keys: DeviceKeys;
  private readonly logCap: number;
  private readonly initial: DeviceState;
  private readonly redis: CasRedis;

  constructor(redis: Redis, options: StateStoreOptions = {}) {
    this.keys = deviceKeys(options.prefix ?? DEFAULT_KEY_PREFIX);
    this.prefix = this.keys.keyPrefix;
    this.logCap = options.logCap ?? 200;
    this.initial = options.initialState ?? 'available';
    if (!('devlabStateCas' in redis)) {
      redis.defineCommand('devlabStateCas', { numberOfKeys: 2, lua: CAS_SCRIPT });
    }
    this.redis = redis as CasRedis;
  }

  stateKey(deviceId: string): string {
    return this.keys.device(deviceId);
  }

  logKey(deviceId: string): string {
    return this.keys.deviceLog(deviceId);
  }

  async get(deviceId: string): Promise<DeviceStatus> {
    const h = await this.redis.hgetall(this.stateKey(deviceId));
    const state = DEVICE_STATES.includes(h['state'] as DeviceState)
      ? (h['state'] as DeviceState)
      : this.initial;
    // Masked on the way out too: a reason written before credentials were masked may still be stored.
    const reason = redactText(h['reason'] ?? '');
    return { deviceId, state, reason, by: h['by'] ?? '', since: Number(h['since'] ?? 0) };
  }

  /**
   * The states of many devices in one round trip (a pipeline of HGETs): what `get` would say of each,
   * without the reasons (the metrics' devices-by-state count).
   */
  async states(deviceIds: readonly string[]): Promise<DeviceState[]> {
    if (deviceIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of deviceIds) pipeline.hget(this.stateKey(id), 'state');
    const replies = (await pipeline.exec()) ?? [];
    return deviceIds.map((id, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw new Error(`device ${id}: state not read: ${err.message}`);
      return DEVICE_STATES.includes(value as DeviceState) ? (value as DeviceState) : this.initial;
    });
  }

  /**
   * Moves the device to `to` if the move is allowed from its current state. Retries when another writer
   * changed the state in between, re-validating against the new state.
   */
  async transition(
    deviceId: string,
    to: DeviceState,
    givenReason: string,
    by: string,
  ): Promise<TransitionRecord> {
    // The reason is kept in the state and its log and shown to every partner: URL credentials masked.
    const reason = redactText(givenReason);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(deviceId);
      const record = planTransition(deviceId, current.state, to, reason, by);
      const res = await this.redis.devlabStateCas(
        this.stateKey(deviceId),
        this.logKey(deviceId),
        current.state,
        to,
        reason,
        by,
        String(record.at),
        this.initial,
        JSON.stringify(record),
        String(this.logCap),
      );
      if (res === 'OK') return record;
    }
    throw new Error(`Device ${deviceId}: state kept changing while moving to ${to}`);
  }

  /** Newest first. */
  async history(deviceId: string, limit = 50): Promise<TransitionRecord[]> {
    const rows = await this.redis.lrange(this.logKey(deviceId), 0, limit - 1);
    return rows.map((r) => {
      const record = JSON.parse(r) as TransitionRecord;
      return { ...record, reason: redactText(record.reason) };
    });
  }

  /** Removes the device's state and log (tests, decommissioning). */
  async forget(deviceId: string): Promise<void> {
    await this.redis.del(this.stateKey(deviceId), this.logKey(deviceId));
  }
}
