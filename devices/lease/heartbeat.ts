import { EventEmitter } from 'node:events';
import type { Lease, LeaseManager } from './lease-manager.ts';

export interface HeartbeatEvents {
  /** The lease could not be renewed: another holder may have it now; stop working on the device. */
  lost: [reason: string];
  /** One renewal failed for a transient reason (e.g. Redis unreachable); the next tick tries again. */
  error: [err: Error];
}

/**
 * Renews a lease while its holder works. Renewals run every ttl/3, so two missed ticks still keep the
 * lease; if the holder process dies the ticks stop and the lease expires on its own.
 */
export class LeaseHeartbeat extends EventEmitter<HeartbeatEvents> {
  private timer: NodeJS.Timeout | null = null;
  private readonly controller = new AbortController();
  /** Aborted when the lease is lost, so that work using the device can stop. */
  readonly signal: AbortSignal = this.controller.signal;

  constructor(
    private readonly leases: LeaseManager,
    readonly lease: Lease,
    private readonly intervalMs: number = Math.max(50, Math.floor(lease.ttlMs / 3)),
  ) {
    super();
  }

  start(): this {
    if (this.timer) return this;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    // A heartbeat alone must not keep a finished process alive.
    this.timer.unref();
    return this;
  }

  private async tick(): Promise<void> {
    try {
      if (await this.leases.renew(this.lease)) return;
      this.stop();
      const reason = `lease on ${this.lease.deviceId} (token ${this.lease.token}) was lost`;
      this.controller.abort(new Error(reason));
      this.emit('lost', reason);
    } catch (err) {
      if (this.listenerCount('error') > 0) this.emit('error', err as Error);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops renewing and releases the lease. */
  async release(): Promise<boolean> {
    this.stop();
    return this.leases.release(this.lease);
  }
}
