import type { Redis } from 'ioredis';
import type { DeviceRecord, DeviceState } from '../device.ts';
import { redactText } from '../redact.ts';
import type { DeviceStateStore } from '../state/state-store.ts';
import type { HealthCheck, HealthResult } from './health-check.ts';

/** Who the monitor is in transition logs; only its own quarantines are lifted by a passing re-check. */
export const HEALTH_ACTOR = 'health';

export interface HealthOutcome {
  result: HealthResult;
  consecutiveFailures: number;
  state: DeviceState;
  /** Set when this check moved the device. */
  transition?: { from: DeviceState; to: DeviceState; reason: string };
}

export interface HealthMonitorOptions {
  /** Consecutive infrastructure failures before quarantine. */
  threshold?: number;
  onOutcome?: (outcome: HealthOutcome) => void;
  /** A periodic round that failed (Redis away): the monitor goes on with the next round. */
  onError?: (err: unknown) => void;
}

/** States a failing device is taken out of; blocked (manual) and quarantined stay as they are. */
export const QUARANTINABLE: readonly DeviceState[] = ['available', 'leased', 'busy', 'offline', 'draining'];

/**
 * Runs health checks, quarantines a device after N consecutive failures and brings a device it
 * quarantined back when a re-check passes. Failure counters live in Redis, so agents share them.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private readonly threshold: number;

  constructor(
    private readonly redis: Redis,
    private readonly states: DeviceStateStore,
    private readonly check: HealthCheck,
    private readonly options: HealthMonitorOptions = {},
  ) {
    this.threshold = options.threshold ?? 3;
  }

  healthKey(deviceId: string): string {
    return this.states.keys.deviceHealth(deviceId);
  }

  async checkOnce(device: DeviceRecord): Promise<HealthOutcome> {
    const checked = await this.check(device);
    // Whatever the check says goes to Redis and into the state's reason: credentials masked.
    const result = { ...checked, message: redactText(checked.message) };
    const key = this.healthKey(device.id);
    let failures = 0;
    if (result.ok) {
      await this.redis.hset(key, { failures: 0, lastOk: Date.now(), message: result.message });
    } else {
      failures = await this.redis.hincrby(key, 'failures', 1);
      await this.redis.hset(key, { lastFailure: Date.now(), message: result.message });
    }
    const status = await this.states.get(device.id);
    let outcome: HealthOutcome = { result, consecutiveFailures: failures, state: status.state };
    try {
      if (result.ok && status.state === 'quarantined' && status.by === HEALTH_ACTOR) {
        const reason = `health re-check passed: ${result.message}`;
        await this.states.transition(device.id, 'available', reason, HEALTH_ACTOR);
        outcome = {
          ...outcome,
          state: 'available',
          transition: { from: status.state, to: 'available', reason },
        };
      } else if (!result.ok && failures >= this.threshold && QUARANTINABLE.includes(status.state)) {
        const reason = `health: ${result.message} (${failures} consecutive failures)`;
        await this.states.transition(device.id, 'quarantined', reason, HEALTH_ACTOR);
        outcome = {
          ...outcome,
          state: 'quarantined',
          transition: { from: status.state, to: 'quarantined', reason },
        };
      }
    } catch {
      // Someone else moved the device meanwhile; the next check sees the new state.
    }
    this.options.onOutcome?.(outcome);
    return outcome;
  }

  async checkAll(devices: DeviceRecord[]): Promise<HealthOutcome[]> {
    return Promise.all(devices.map((d) => this.checkOnce(d)));
  }

  /** Periodic checks; a round never overlaps the previous one. */
  start(devices: DeviceRecord[], intervalMs: number): this {
    if (this.timer) return this;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.checkAll(devices)
        .catch((err: unknown) => this.options.onError?.(err))
        .finally(() => {
          this.running = null;
        });
    }, intervalMs);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async forget(deviceId: string): Promise<void> {
    await this.redis.del(this.healthKey(deviceId));
  }
}
