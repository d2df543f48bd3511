import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LeaseHeartbeat } from '../../devices/lease/heartbeat.ts';
import type { LeaseManager } from '../../devices/lease/lease-manager.ts';
import type { ArtifactStore } from '../artifacts/artifact-store.ts';
import type { DevlabConfig } from '../config/config.ts';
import type { LabDevices } from '../inventory/lab-devices.ts';
import { runRequestSchema } from '../protocol/run-request.ts';
import type { EventBus } from '../server/event-bus.ts';
import type { Store } from '../store/store.ts';
import { matchDevices } from './device-match.ts';
import { ReservationHold, type ReservedDevice } from './reservation-hold.ts';
import { capabilityChoices } from './session-capabilities.ts';
import { LiveSession, recordEnd } from './live-session.ts';
import type { RelayClient } from './relay-channel.ts';
import { openSessionProxy } from './relayed-session.ts';
import type { SessionHealth } from './session-health.ts';
import type { ProxiedAnswer, SessionProxy } from './session-proxy.ts';
import { SessionQueue } from './session-queue.ts';
import { type SessionOutcome, SessionStore } from './session-store.ts';
import { WebDriverError } from './webdriver-error.ts';

export interface WebDriverServiceDeps {
  store: Store;
  devices: LabDevices;
  leases: LeaseManager;
  artifacts: ArtifactStore;
  /** The control plane's events: a session's run cancelled through the API ends the session. */
  events?: EventBus;
  settings: DevlabConfig['webdriver'];
  /** The agents' lease TTL: a control plane that dies frees its sessions' devices after it. */
  leaseTtlMs: number;
  logger: Logger;
  /** How often waiting sessions try their devices again (default 250 ms). */
  pollMs?: number;
  /** The WebDriver relay: a device whose agent relays is driven through it (else straight to its Appium). */
  relay?: RelayClient;
  /** The device-health view: a session that lost its device counts against it (session-health.ts). */
  health?: SessionHealth;
}

/** Who asks: a partner token's partner (`scope`), else anyone (admin, or a lab without auth). */
export interface Caller {
  /** The only partner this caller may act for; null: any (admin, auth off). */
  scope: string | null;
  /** The caller's own partner when it is an admin token (the default partner of its sessions). */
  own: string | null;
}

/** Ended sessions remembered (their outcome answers a late command), at most. */
const REMEMBERED = 1000;

/**
 * devlab as a WebDriver endpoint: a client's `POST /session` picks a matching Appium device, waits its turn
 * (session-queue.ts), leases the device through the agents' leases, opens an Appium session on it
 * (session-proxy.ts) and records it as a run of one job and one attempt (session-store.ts) with its
 * command log and final screenshot (session-recording.ts). Commands are proxied until the client deletes
 * the session, goes idle past `webdriver.idleTimeoutMs`, or the device is lost.
 */
export class WebDriverService {
  readonly queue: SessionQueue;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly endedOutcomes = new Map<string, { partner: string; outcome: string }>();
  /** The session (opening or open) on each reservation: a reserved device serves one at a time. */
  private readonly reservedSessions = new Map<string, { session: string; hold: ReservationHold }>();
  private readonly recorded: SessionStore;
  private readonly log: Logger;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: WebDriverServiceDeps) {
    this.log = deps.logger;
    this.recorded = new SessionStore(deps.store);
    this.queue = new SessionQueue(
      {
        acquire: (deviceId, holder) => deps.leases.acquire(deviceId, holder, deps.leaseTtlMs),
        release: (lease) => deps.leases.release(lease),
      },
      { logger: deps.logger, ...(deps.pollMs ? { pollMs: deps.pollMs } : {}) },
    );
  }

  start(): void {
    this.unsubscribe ??=
      this.deps.events?.subscribe((event) => {
        if (event.type !== 'run.cancelled') return;
        const session = [...this.sessions.values()].find((s) => s.fields.runId === event.runId);
        if (session) void session.end('aborted by client', 'aborted: the run was cancelled through the API');
      }) ?? null;
  }

  /** Live sessions now (for tests, the benchmark and diagnostics): ids, partner, device, run. */
  get live(): { id: string; appiumSessionId: string; partner: string; deviceId: string; runId: string }[] {
    return [...this.sessions.values()].map(({ fields: s }) => ({
      id: s.id,
      appiumSessionId: s.proxy.appiumSessionId,
      partner: s.partner,
      deviceId: s.device.id,
      runId: s.runId,
    }));
  }

  /**
   * `POST /session`: waits for a device, opens the Appium session; the W3C answer's `value`. With
   * `reserved` (`/wd/hub/reservations/<id>`), the reservation's device, at once, under its lease.
   */
  async create(
    body: unknown,
    caller: Caller,
    signal: AbortSignal,
    reserved?: ReservedDevice,
  ): Promise<{ sessionId: string; capabilities: Record<string, unknown> }> {
    const requestedAt = Date.now();
    const choices = capabilityChoices(body);
    const asked = choices[0]?.devlab['devlab:partner'];
    if (caller.scope !== null && asked !== undefined && asked !== caller.scope)
      throw new WebDriverError(
        'invalid argument',
        `devlab:partner: this token opens sessions for partner ${caller.scope} only`,
      );
    const partner = caller.scope ?? asked ?? caller.own ?? 'default';
    const inventory = await this.deps.devices.withStates();
    const match = matchDevices(
      reserved ? inventory.filter((d) => d.id === reserved.deviceId) : inventory,
      choices,
    );
    const { choice } = match;
    const id = randomUUID();
    // The lease holder names the run, never the session id: every partner sees who holds a device
    // (GET /api/devices), and the session id is the key to the session for clients that send no token.
    const runId = randomUUID();
    const queueS = choice.devlab['devlab:queueTimeout'];
    const timeoutMs = Math.min(
      this.deps.settings.queueTimeoutMs,
      queueS ? queueS * 1000 : Number.POSITIVE_INFINITY,
    );
    const hold = reserved ? this.claim(reserved, id) : null;
    const granted = hold
      ? { deviceId: hold.reserved.deviceId, lease: hold.lease, waitedMs: 0 }
      : await this.queue
          .wait({
            partner,
            devices: match.devices.map((d) => d.id),
            holder: `webdriver/${runId}`,
            timeoutMs,
            signal,
          })
          .catch((err: unknown) => {
            this.log.info(
              { partner, session: id, err: (err as Error).message },
              'webdriver session not created',
            );
            throw err;
          });
    const device = match.devices.find((d) => d.id === granted.deviceId)!;
    const heartbeat = hold ?? new LeaseHeartbeat(this.deps.leases, granted.lease).start();
    heartbeat.on('error', (err) =>
      this.log.warn({ err, device: device.id, session: id }, 'webdriver session: a lease renewal failed'),
    );
    const jobId = randomUUID();
    const startedAt = Date.now();
    try {
      this.recorded.open({
        runId,
        jobId,
        device,
        requestedAt,
        startedAt,
        request: runRequestSchema.parse({
          select: match.selector,
          build: choice.devlab['devlab:build'] ?? 'webdriver',
          partner,
        }),
      });
    } catch (err) {
      this.log.error(
        { err, session: id, device: device.id },
        'webdriver session: its run could not be stored',
      );
      await this.giveBack(heartbeat, device.id);
      throw new WebDriverError(
        'session not created',
        'the lab could not record the session; try again later',
      );
    }
    let proxy: SessionProxy;
    try {
      proxy = await openSessionProxy(device, choice.client, {
        relay: this.deps.relay,
        idleTimeoutMs: this.deps.settings.idleTimeoutMs,
        log: this.log.child({ session: id, run: runId, job: jobId, device: device.id }),
      });
    } catch (err) {
      const message = `device lost: ${device.id} gave no Appium session: ${(err as Error).message}`;
      this.log.error(
        { err, session: id, device: device.id, run: runId },
        'webdriver session: no Appium session',
      );
      await this.recordHealth({ id, runId, jobId, device }, 'device lost', message);
      await this.giveBack(heartbeat, device.id);
      const ended = { runId, jobId, deviceId: device.id, startedAt, endedAt: Date.now() };
      recordEnd(this.recorded, { ...ended, outcome: 'device lost', message }, this.log);
      throw new WebDriverError('session not created', message);
    }
    const session = new LiveSession(
      { id, partner, runId, jobId, device, proxy, heartbeat, startedAt },
      {
        artifacts: this.deps.artifacts,
        recorded: this.recorded,
        idleTimeoutMs: this.deps.settings.idleTimeoutMs,
        log: this.log,
        onEnded: (ended, outcome, message) => {
          this.sessions.delete(ended.fields.id);
          this.unclaim(ended.fields.heartbeat);
          this.remember(ended.fields.id, ended.fields.partner, outcome);
          // Counted first: a device these drops quarantine is not offered to the next session.
          void this.recordHealth(ended.fields, outcome, message).then(() => this.queue.poke());
        },
      },
    );
    this.sessions.set(id, session);
    session.start();
    if (signal.aborted) {
      await session.end('aborted by client', 'aborted: the client went away before its session was opened');
      throw new WebDriverError('session not created', 'the client went away');
    }
    if (hold?.ended) {
      await session.end('aborted by client', hold.ended);
      throw new WebDriverError('session not created', hold.ended);
    }
    this.log.info(
      { session: id, partner, device: device.id, run: runId, waitedMs: granted.waitedMs, via: proxy.via },
      'webdriver session opened',
    );
    return {
      sessionId: id,
      capabilities: { ...proxy.capabilities, 'devlab:deviceId': device.id, 'devlab:runId': runId },
    };
  }

  /** A command of a session (`rest`: the path after `/session/<id>`); Appium's answer as it came. */
  command(
    id: string,
    caller: Caller,
    method: string,
    rest: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<ProxiedAnswer> {
    return this.get(id, caller).command(method, rest, body, signal);
  }

  /** `DELETE /session/<id>`: ends the session, stores it, frees the device. */
  async delete(id: string, caller: Caller): Promise<void> {
    const session = this.get(id, caller);
    const count = session.commands.count;
    await session.end('completed', `completed: the client deleted the session after ${count} commands`);
  }

  /** Ends every session (the control plane stops) and refuses the waiting ones. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.queue.close();
    this.deps.health?.stopCounting();
    const why = 'device lost: the control plane stopped during the session';
    await Promise.all([...this.sessions.values()].map((s) => s.end('device lost', why)));
  }

  /** A live session of the caller's partner; another partner's is answered exactly like a missing one. */
  private get(id: string, caller: Caller): LiveSession {
    const session = this.sessions.get(id);
    const mine = (partner: string) => caller.scope === null || caller.scope === partner;
    if (session && !session.isEnding && mine(session.fields.partner)) return session;
    const ended =
      this.endedOutcomes.get(id) ??
      (session ? { partner: session.fields.partner, outcome: 'ending' } : undefined);
    if (ended && mine(ended.partner))
      throw new WebDriverError('invalid session id', `session ${id} has ended (${ended.outcome})`);
    throw new WebDriverError('invalid session id', `no session ${id}`);
  }

  /** How a session ended, in its device's health (never throws: SessionHealth logs its failures). */
  private recordHealth(
    s: { id: string; runId: string; jobId: string; device: { id: string } },
    outcome: SessionOutcome,
    message: string,
  ): Promise<void> {
    const on = { deviceId: s.device.id, runId: s.runId, jobId: s.jobId, session: s.id };
    return this.deps.health?.ended(on, outcome, message) ?? Promise.resolve();
  }

  /** The device goes back (a session that never opened) and is offered to the next one waiting. */
  private async giveBack(heartbeat: LeaseHeartbeat, deviceId: string): Promise<void> {
    this.unclaim(heartbeat);
    heartbeat.stop();
    await heartbeat
      .release()
      .catch((err: unknown) =>
        this.log.warn({ err, device: deviceId }, 'webdriver session: cannot give back a lease'),
      );
    this.queue.poke();
  }

  /**
   * A reservation ended (released or expired): its session ends (`aborted by client`, saying why); one
   * still opening ends as soon as it is open. The device stays leased to the reservation until it gives
   * the lease back.
   */
  async endReserved(reservationId: string, why: string): Promise<void> {
    const claimed = this.reservedSessions.get(reservationId);
    if (!claimed) return;
    claimed.hold.end(why);
    await this.sessions.get(claimed.session)?.end('aborted by client', why);
  }

  /** The reservation's device for a new session, or `session not created` while it has one. */
  private claim(reserved: ReservedDevice, sessionId: string): ReservationHold {
    const open = this.reservedSessions.get(reserved.reservationId);
    if (open)
      throw new WebDriverError(
        'session not created',
        `reservation ${reserved.reservationId} already has a session (${open.session}) on ${reserved.deviceId}: delete it first (one session at a time)`,
      );
    const hold = new ReservationHold(this.deps.leases, reserved);
    this.reservedSessions.set(reserved.reservationId, { session: sessionId, hold });
    return hold;
  }

  private unclaim(heartbeat: LeaseHeartbeat): void {
    if (heartbeat instanceof ReservationHold) this.reservedSessions.delete(heartbeat.reserved.reservationId);
  }

  private remember(id: string, partner: string, outcome: string): void {
    this.endedOutcomes.set(id, { partner, outcome });
    if (this.endedOutcomes.size > REMEMBERED)
      this.endedOutcomes.delete(this.endedOutcomes.keys().next().value!);
  }
}
