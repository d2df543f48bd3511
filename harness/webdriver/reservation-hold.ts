import { LeaseHeartbeat } from '../../devices/lease/heartbeat.ts';
import type { Lease, LeaseManager } from '../../devices/lease/lease-manager.ts';

/** A reserved device, as the WebDriver endpoint opens a session on it (`/wd/hub/reservations/<id>`). */
export interface ReservedDevice {
  reservationId: string;
  deviceId: string;
  partner: string;
  /** The reservation's lease: held until the reservation ends, whatever its sessions do. */
  lease: Lease;
  until: number;
}

/** Never: the reservation's own lease expires at its end, it is not renewed by a session. */
const NO_RENEWAL_MS = 2 ** 31 - 1;

/**
 * What a session on a reserved device holds instead of a lease heartbeat of its own: the reservation's
 * lease, neither renewed (its TTL is the reservation's end) nor given back when the session ends (the
 * device stays reserved for the next session of its holder). The reservation ends it (`end`).
 */
export class ReservationHold extends LeaseHeartbeat {
  private why: string | null = null;

  constructor(
    leases: LeaseManager,
    readonly reserved: ReservedDevice,
  ) {
    super(leases, reserved.lease, NO_RENEWAL_MS);
  }

  /** Why the reservation ended while its session was opening or open; null while it lasts. */
  get ended(): string | null {
    return this.why;
  }

  override start(): this {
    return this;
  }

  /** The session is over: the device stays the reservation's. */
  override async release(): Promise<boolean> {
    this.stop();
    return true;
  }

  /** The reservation ended (released or expired): its session must end too. */
  end(why: string): void {
    this.why ??= why;
  }
}
