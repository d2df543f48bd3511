import type { Redis } from 'ioredis';
import type { DeviceState } from '../device.ts';
import { redactText } from '../redact.ts';
import type { DeviceStateStore } from '../state/state-store.ts';
import { TransitionError } from '../state/transitions.ts';
import { QUARANTINABLE } from './health-monitor.ts';

/**
 * Who quarantines a device that keeps losing its WebDriver sessions. Not the health monitor's own
 * (`HEALTH_ACTOR`): its passing re-check (an Appium server that answers `/status`) says nothing of whether
 * sessions hold, so it does not lift this quarantine; a person does (`devlab devices unblock <id>`).
 */
export const SESSION_DROPS_ACTOR = 'webdriver';

/** The health hash's fields for sessions (beside the health checks' `failures`, `lastOk`, ...). */
export const SESSION_DROP_FIELDS = {
  /** Sessions in a row that lost the device. */
  drops: 'sessionDrops',
  lastDropAt: 'lastSessionDrop',
  lastDropMessage: 'lastSessionDropMessage',
} as const;

export interface SessionDropOutcome {
  /** Sessions in a row that lost the device, this one included. */
  drops: number;
  state: DeviceState;
  /** Set when this drop quarantined the device. */
  transition?: { from: DeviceState; to: DeviceState; reason: string };
}

/**
 * The device-health view of client sessions (the lab's WebDriver endpoint): a session that lost its
 * device (no Appium session, Appium gone mid-session, the device's agent gone) counts against the device,
 * kept in the device's health hash in Redis; `threshold` such sessions in a row quarantine it. A session
 * that ends any other way (the client ended it, went idle or away) shows the device holds sessions, and
 * the count starts again.
 */
export class SessionDrops {
  private readonly threshold: number;

  constructor(
    private readonly redis: Redis,
    private readonly states: DeviceStateStore,
    options: { threshold?: number } = {},
  ) {
    this.threshold = options.threshold ?? 3;
  }

  /** A session on the device ended as `device lost`, saying why. */
  async dropped(deviceId: string, message: string): Promise<SessionDropOutcome> {
    const key = this.states.keys.deviceHealth(deviceId);
    const why = redactText(message);
    const drops = await this.redis.hincrby(key, SESSION_DROP_FIELDS.drops, 1);
    await this.redis.hset(key, {
      [SESSION_DROP_FIELDS.lastDropAt]: Date.now(),
      [SESSION_DROP_FIELDS.lastDropMessage]: why,
    });
    const status = await this.states.get(deviceId);
    if (drops < this.threshold || !QUARANTINABLE.includes(status.state))
      return { drops, state: status.state };
    const reason = `webdriver: ${drops} sessions in a row lost the device (last: ${why}); \`devlab devices unblock ${deviceId}\` returns it to service`;
    try {
      const record = await this.states.transition(deviceId, 'quarantined', reason, SESSION_DROPS_ACTOR);
      return { drops, state: 'quarantined', transition: { from: record.from, to: record.to, reason } };
    } catch (err) {
      // Someone else moved the device meanwhile (blocked it, say), to a state this move may not leave.
      if (!(err instanceof TransitionError)) throw err;
      return { drops, state: (await this.states.get(deviceId)).state };
    }
  }

  /** A session on the device ended without losing it: the count starts again. */
  async held(deviceId: string): Promise<void> {
    await this.redis.hset(this.states.keys.deviceHealth(deviceId), SESSION_DROP_FIELDS.drops, 0);
  }

  /** Sessions in a row that lost the device, as Redis has it now. */
  async count(deviceId: string): Promise<number> {
    const value = await this.redis.hget(this.states.keys.deviceHealth(deviceId), SESSION_DROP_FIELDS.drops);
    return Number(value ?? 0);
  }
}
