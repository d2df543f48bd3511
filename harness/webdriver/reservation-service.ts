import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Lease, LeaseManager } from '../../devices/lease/lease-manager.ts';
import { NotFoundError, UnprocessableRequestError } from '../errors.ts';
import type { LabDevices } from '../inventory/lab-devices.ts';
import type { LabKeys } from '../queue/names.ts';
import { formatDuration } from './reservation-duration.ts';
import type { ReservedDevice } from './reservation-hold.ts';
import { type Reservation, ReservationStore } from './reservation-store.ts';
import { WebDriverError } from './webdriver-error.ts';
import type { Caller, WebDriverService } from './webdriver-service.ts';

/** The device cannot be reserved now: another holder has it, or its state takes no work (HTTP 409). */
export class ReservationConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReservationConflictError';
  }
}

export interface ReservationServiceDeps {
  redis: Redis;
  keys: LabKeys;
  leases: LeaseManager;
  devices: LabDevices;
  /** Ends a reservation's session when the reservation ends, and offers its freed device to the queue. */
  webdriver: WebDriverService;
  /** The longest a reservation may last (`webdriver.maxReservationMs`). */
  maxMs: number;
  logger: Logger;
}

/** Who a reservation shows as the device's lease holder: its partner, never its id (the URL's key). */
export const reservationHolder = (partner: string) => `reservation/${partner}`;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Devices reserved for a partner's person (`devlab devices reserve`, `POST /api/devices/:id/reservations`).
 * A reservation takes the device's lease, the one agents and WebDriver sessions take, with the
 * reservation's duration as its TTL: no catalog test or other session gets the device until it ends, and
 * Redis frees it at the end even with no control plane running. A busy device is refused at once (409,
 * naming its holder), never waited for. The record is in Redis too (reservation-store.ts), expiring with
 * it; a timer of the control plane ends the reservation's session at the end, and is set again at start.
 * Only Appium devices: the reservation's WebDriver URL (`/wd/hub/reservations/<id>`) is how it is used.
 */
export class ReservationService {
  readonly store: ReservationStore;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly log: Logger;

  constructor(private readonly deps: ReservationServiceDeps) {
    this.log = deps.logger;
    this.store = new ReservationStore(deps.redis, deps.keys, (id, why) =>
      this.log.warn({ reservation: id, why }, 'reservation record unreadable: left out'),
    );
  }

  /** Sets the end timers of the reservations a previous control plane made (those whose lease is still theirs). */
  async start(): Promise<void> {
    for (const r of await this.store.active()) {
      const lease = await this.deps.leases.holder(r.deviceId);
      if (lease?.token !== r.leaseToken) {
        this.log.warn(
          { reservation: r.id, device: r.deviceId, holder: lease?.holder ?? null },
          'reservation dropped at start: its device lease is no longer its own',
        );
        await this.store.remove(r.id);
        continue;
      }
      this.arm(r);
    }
  }

  /** Stops the end timers; the reservations stay in Redis for the next start (and end there by themselves). */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  async reserve(request: {
    deviceId: string;
    forMs: number;
    partner: string;
    note?: string | undefined;
  }): Promise<Reservation> {
    const { deviceId, forMs, partner } = request;
    const device = this.deps.devices.inventory.find((d) => d.id === deviceId);
    if (!device) throw new NotFoundError('device', deviceId);
    if (device.driver !== 'appium')
      throw new UnprocessableRequestError(
        'device',
        `${deviceId} is a ${device.driver} device: only Appium devices can be reserved (a reservation is used through its WebDriver URL)`,
      );
    if (forMs > this.deps.maxMs)
      throw new UnprocessableRequestError(
        'for',
        `${formatDuration(forMs)} is longer than a reservation may last here, ${formatDuration(this.deps.maxMs)} (webdriver.maxReservationMs)`,
      );
    const holder = reservationHolder(partner);
    const acquired = await this.deps.leases.acquire(deviceId, holder, forMs);
    if (!acquired.ok) throw new ReservationConflictError(await this.whyBusy(deviceId, acquired.reason));
    const { lease } = acquired;
    const reservation: Reservation = {
      id: `rsv-${randomUUID()}`,
      deviceId,
      partner,
      note: request.note ?? null,
      createdAt: lease.acquiredAt,
      until: lease.acquiredAt + forMs,
      holder,
      leaseToken: lease.token,
    };
    try {
      // A control plane that dies between the lease and this write leaves the device held by
      // `reservation/<partner>` with no record: Redis frees it at the same end the reservation would have.
      await this.store.save(reservation);
    } catch (err) {
      this.log.error({ err, device: deviceId, partner }, 'reservation not stored: its lease is given back');
      await this.giveBack(lease);
      throw err;
    }
    this.arm(reservation);
    this.log.info(
      { reservation: reservation.id, device: deviceId, partner, until: iso(reservation.until) },
      'device reserved',
    );
    return reservation;
  }

  /** The reservations a caller may see: a partner's own; every one for an admin (`scope` null). */
  async list(scope: string | null): Promise<Reservation[]> {
    return (await this.store.active()).filter((r) => scope === null || r.partner === scope);
  }

  /** Every partner may see that a device is reserved, by whom and until when (not the id or URL). */
  async byDevice(): Promise<Map<string, { partner: string; until: number }>> {
    return new Map(
      (await this.store.active()).map((r) => [r.deviceId, { partner: r.partner, until: r.until }]),
    );
  }

  /** One reservation of the caller's; another partner's answers like a missing one (404). */
  async get(id: string, scope: string | null): Promise<Reservation> {
    const r = await this.store.get(id);
    if (!r || r.until <= Date.now() || (scope !== null && r.partner !== scope))
      throw new NotFoundError('reservation', id);
    return r;
  }

  /** Ends a reservation now: its session ends, the device is free. */
  async release(id: string, scope: string | null): Promise<Reservation> {
    const r = await this.get(id, scope);
    await this.end(r, `aborted: reservation ${r.id} was released`);
    this.log.info({ reservation: r.id, device: r.deviceId, partner: r.partner }, 'reservation released');
    return r;
  }

  /**
   * The reserved device for a session through `/wd/hub/reservations/<id>`: the caller's own reservation
   * (any, for an admin or a lab without auth); others get `session not created` as for a missing one.
   */
  async reservedDevice(id: string, caller: Caller): Promise<ReservedDevice> {
    const r = await this.store.get(id);
    if (!r || r.until <= Date.now() || (caller.scope !== null && r.partner !== caller.scope))
      throw new WebDriverError(
        'session not created',
        `no reservation ${id}${caller.scope ? ` of partner ${caller.scope}` : ''}: it ended, or was never made`,
        404,
      );
    const lease: Lease = {
      deviceId: r.deviceId,
      holder: r.holder,
      token: r.leaseToken,
      ttlMs: r.until - r.createdAt,
      acquiredAt: r.createdAt,
    };
    return { reservationId: r.id, deviceId: r.deviceId, partner: r.partner, lease, until: r.until };
  }

  /** Says who has the device (a reservation: its partner and end), for the 409. */
  private async whyBusy(deviceId: string, reason: string): Promise<string> {
    const reserved = (await this.store.active()).find((r) => r.deviceId === deviceId);
    if (reserved) return `${deviceId} is reserved by ${reserved.partner} until ${iso(reserved.until)}`;
    if (reason.startsWith('device is ')) return `${deviceId} cannot be reserved: it ${reason.slice(7)}`;
    return `${deviceId} is busy (${reason}): try again when it is free (\`devlab devices list\` shows its holder)`;
  }

  private arm(r: Reservation): void {
    clearTimeout(this.timers.get(r.id));
    const timer = setTimeout(
      () =>
        void this.end(r, `aborted: reservation ${r.id} ended at ${iso(r.until)}`).then(
          () =>
            this.log.info(
              { reservation: r.id, device: r.deviceId, partner: r.partner },
              'reservation expired',
            ),
          (err: unknown) => this.log.error({ err, reservation: r.id }, 'reservation: ending it failed'),
        ),
      Math.max(0, r.until - Date.now()),
    );
    timer.unref();
    this.timers.set(r.id, timer);
  }

  /** Its session ends first, then the lease goes back (a token that is not its own any more changes nothing). */
  private async end(r: Reservation, why: string): Promise<void> {
    clearTimeout(this.timers.get(r.id));
    this.timers.delete(r.id);
    await this.deps.webdriver.endReserved(r.id, why);
    await this.giveBack({
      deviceId: r.deviceId,
      holder: r.holder,
      token: r.leaseToken,
      ttlMs: 0,
      acquiredAt: r.createdAt,
    });
    await this.store
      .remove(r.id)
      .catch((err: unknown) =>
        this.log.warn({ err, reservation: r.id }, 'reservation record not removed (it expires by itself)'),
      );
    this.deps.webdriver.queue.poke();
  }

  private async giveBack(lease: Lease): Promise<void> {
    await this.deps.leases
      .release(lease)
      .catch((err: unknown) =>
        this.log.warn(
          { err, device: lease.deviceId },
          'reservation: cannot give back its lease (it expires by itself at the end)',
        ),
      );
  }
}
