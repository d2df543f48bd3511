import type { Logger } from 'pino';
import type { AcquireResult, Lease } from '../../devices/lease/lease-manager.ts';
import { WebDriverError } from './webdriver-error.ts';

/** The device leases the agents use (devices/lease/): a device is held by one agent or one session at a time. */
export interface SessionLeases {
  acquire(deviceId: string, holder: string): Promise<AcquireResult>;
  release(lease: Lease): Promise<boolean>;
}

export interface QueueRequest {
  partner: string;
  /** The devices that match, in the order to try them. */
  devices: readonly string[];
  /** The lease holder name (`webdriver/<session>`). */
  holder: string;
  timeoutMs: number;
  /** Aborted when the client went away while waiting. */
  signal?: AbortSignal;
}

export interface Granted {
  deviceId: string;
  lease: Lease;
  waitedMs: number;
}

interface Waiting {
  request: QueueRequest;
  seq: number;
  since: number;
  /** Why each device was refused last time (its holder, or its state): the timeout says it. */
  refused: Map<string, string>;
  resolve(granted: Granted): void;
  reject(err: Error): void;
  done: boolean;
  timer: NodeJS.Timeout;
  onAbort: () => void;
}

export interface SessionQueueOptions {
  /** How often waiting requests try their devices again (agents free devices without telling the queue). */
  pollMs?: number;
  logger: Logger;
}

/**
 * New WebDriver sessions waiting for a device. Fair per partner: each pass offers the free devices to the
 * partners in turn, the one served longest ago first; within a partner, first come first served. A device
 * found held in a pass is not offered to a later request of that pass, so a request never overtakes an
 * earlier one (in that order) that wants the same device. Leasing goes through the agents' leases, so a
 * catalog job and a session never hold one device at once.
 */
export class SessionQueue {
  private readonly waiting: Waiting[] = [];
  /** When each partner was last served, as a count of grants (fairness). */
  private readonly lastServed = new Map<string, number>();
  private seq = 0;
  private grants = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private poll: NodeJS.Timeout | null = null;
  private readonly pollMs: number;
  private readonly log: Logger;

  constructor(
    private readonly leases: SessionLeases,
    options: SessionQueueOptions,
  ) {
    this.pollMs = options.pollMs ?? 250;
    this.log = options.logger;
  }

  /** Requests waiting now, oldest first (partner and since when). */
  get queued(): { partner: string; since: number }[] {
    return this.waiting.map((w) => ({ partner: w.request.partner, since: w.since }));
  }

  /** Resolves with a leased device; rejects with `session not created` after the timeout or when the client left. */
  wait(request: QueueRequest): Promise<Granted> {
    return new Promise<Granted>((resolve, reject) => {
      const since = Date.now();
      const entry: Waiting = {
        request,
        seq: this.seq++,
        since,
        refused: new Map(),
        resolve,
        reject,
        done: false,
        timer: setTimeout(() => {
          const why = [...entry.refused].map(([d, r]) => `${d}: ${r}`).join('; ');
          this.drop(
            entry,
            new WebDriverError(
              'session not created',
              `waited ${(request.timeoutMs / 1000).toFixed(1)} s for a device (${request.devices.join(', ')}) and none came free${why ? ` (${why})` : ''}`,
            ),
          );
        }, request.timeoutMs),
        onAbort: () =>
          this.drop(entry, new WebDriverError('session not created', 'the client went away while waiting')),
      };
      if (request.signal?.aborted) return entry.onAbort();
      request.signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.waiting.push(entry);
      this.poll ??= setInterval(() => this.poke(), this.pollMs).unref();
      this.poke();
    });
  }

  /** A device may be free (a session ended): offer the free devices again now. */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: unknown) => this.log.error({ err }, 'webdriver queue: a pass failed'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  /** Refuses every waiting request (the control plane is stopping). */
  close(): void {
    for (const entry of [...this.waiting])
      this.drop(entry, new WebDriverError('session not created', 'the control plane is stopping'));
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  /** Round robin over the partners (served longest ago first), each partner's requests oldest first. */
  private order(): Waiting[] {
    const byPartner = new Map<string, Waiting[]>();
    for (const w of this.waiting) {
      const list = byPartner.get(w.request.partner) ?? [];
      list.push(w);
      byPartner.set(w.request.partner, list);
    }
    const partners = [...byPartner.entries()].sort(
      ([a, la], [b, lb]) =>
        (this.lastServed.get(a) ?? -1) - (this.lastServed.get(b) ?? -1) || la[0]!.seq - lb[0]!.seq,
    );
    const out: Waiting[] = [];
    for (let round = 0; out.length < this.waiting.length; round++)
      for (const [, list] of partners) if (list[round]) out.push(list[round]!);
    return out;
  }

  private async pass(): Promise<void> {
    const held = new Set<string>();
    for (const entry of this.order()) {
      if (entry.done) continue;
      for (const deviceId of entry.request.devices) {
        if (held.has(deviceId)) continue;
        let result: AcquireResult;
        try {
          result = await this.leases.acquire(deviceId, entry.request.holder);
        } catch (err) {
          this.log.warn({ err, device: deviceId }, 'webdriver queue: cannot lease a device (Redis?)');
          result = { ok: false, reason: `cannot lease: ${(err as Error).message}` };
        }
        held.add(deviceId);
        if (!result.ok) {
          entry.refused.set(deviceId, result.reason);
          continue;
        }
        if (entry.done) {
          // Timed out or left while the lease was being taken: the device goes back at once.
          await this.leases
            .release(result.lease)
            .catch((err: unknown) =>
              this.log.warn({ err, device: deviceId }, 'webdriver queue: cannot give back a lease'),
            );
          break;
        }
        this.lastServed.set(entry.request.partner, this.grants++);
        this.remove(entry);
        entry.resolve({ deviceId, lease: result.lease, waitedMs: Date.now() - entry.since });
        break;
      }
    }
  }

  private drop(entry: Waiting, err: Error): void {
    if (entry.done) return;
    this.remove(entry);
    entry.reject(err);
  }

  private remove(entry: Waiting): void {
    entry.done = true;
    clearTimeout(entry.timer);
    entry.request.signal?.removeEventListener('abort', entry.onAbort);
    const i = this.waiting.indexOf(entry);
    if (i >= 0) this.waiting.splice(i, 1);
    if (this.waiting.length === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }
}
