import type { DeviceState } from '../device.ts';

/**
 * Allowed moves. Blocked is manual and only leaves through `available` (unblock); quarantine is the
 * health monitor's, draining lets running work finish while refusing new leases.
 */
export const TRANSITIONS: Record<DeviceState, readonly DeviceState[]> = {
  available: ['leased', 'offline', 'quarantined', 'draining', 'blocked'],
  leased: ['busy', 'available', 'offline', 'quarantined', 'draining', 'blocked'],
  busy: ['leased', 'available', 'offline', 'quarantined', 'draining', 'blocked'],
  offline: ['available', 'quarantined', 'draining', 'blocked'],
  quarantined: ['available', 'offline', 'draining', 'blocked'],
  draining: ['available', 'offline', 'quarantined', 'blocked'],
  blocked: ['available'],
};

/** States in which no new lease is granted. */
export const UNLEASABLE_STATES: readonly DeviceState[] = ['offline', 'quarantined', 'draining', 'blocked'];

export interface TransitionRecord {
  deviceId: string;
  from: DeviceState;
  to: DeviceState;
  reason: string;
  /** Who asked: an agent id, `health`, `cli:<user>`. */
  by: string;
  /** Epoch ms. */
  at: number;
}

export class TransitionError extends Error {
  constructor(
    readonly deviceId: string,
    readonly from: DeviceState,
    readonly to: DeviceState,
    reason: string,
  ) {
    super(`Device ${deviceId}: cannot go from ${from} to ${to}: ${reason}`);
    this.name = 'TransitionError';
  }
}

export function canTransition(from: DeviceState, to: DeviceState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Validates a move and builds its record; throws TransitionError when the move is not allowed. */
export function planTransition(
  deviceId: string,
  from: DeviceState,
  to: DeviceState,
  reason: string,
  by: string,
  at: number = Date.now(),
): TransitionRecord {
  if (!canTransition(from, to)) throw new TransitionError(deviceId, from, to, 'not an allowed transition');
  if ((to === 'blocked' || to === 'quarantined' || to === 'draining') && reason.trim() === '') {
    throw new TransitionError(deviceId, from, to, `a reason is required to mark a device ${to}`);
  }
  return { deviceId, from, to, reason, by, at };
}
