import { LeaseHeartbeat } from '../../devices/lease/heartbeat.ts';
import type { Lease, LeaseManager } from '../../devices/lease/lease-manager.ts';

/** The lease one test runs under. */
export interface TestLease {
  /** Aborted if the lease is lost while the test runs (another holder may have the device now). */
  signal: AbortSignal;
  /**
   * The test is over: keep the lease for the device's next test (when `keep` and the device's state
   * allows more work) or give it back. Keeping is one round trip, like a release.
   */
  end(keep: boolean): Promise<void>;
}

/**
 * A device worker's hold on its device's lease. Consecutive tests on the device share one lease, renewed
 * by one heartbeat: a busy device costs no acquire/release per test. The lease goes back when the device
 * has been idle for `idleMs`, when its state says stop (blocked, draining, quarantined, offline), after
 * an infrastructure error, or when the worker stops; if the holder dies, the TTL frees it.
 */
export class DeviceLease {
  private held: { lease: Lease; heartbeat: LeaseHeartbeat } | null = null;
  private idle: NodeJS.Timeout | null = null;

  constructor(
    private readonly leases: LeaseManager,
    private readonly deviceId: string,
    private readonly holder: string,
    private readonly ttlMs: number,
    private readonly idleMs: number,
  ) {}

  /** The lease for one more test: the kept one, or a new one; null when the device cannot be leased now. */
  async take(): Promise<TestLease | null> {
    this.cancelIdle();
    if (this.held?.heartbeat.signal.aborted) this.held = null;
    if (!this.held) {
      const acquired = await this.leases.acquire(this.deviceId, this.holder, this.ttlMs);
      if (!acquired.ok) return null;
      this.held = {
        lease: acquired.lease,
        heartbeat: new LeaseHeartbeat(this.leases, acquired.lease).start(),
      };
    }
    const held = this.held;
    const controller = new AbortController();
    const onLost = (reason: string) => controller.abort(new Error(reason));
    held.heartbeat.on('lost', onLost);
    return {
      signal: controller.signal,
      end: async (keep) => {
        held.heartbeat.off('lost', onLost);
        if (this.held !== held) return;
        const kept = keep && (await this.leases.keep(held.lease, this.ttlMs).catch(() => false));
        if (kept && this.held === held) {
          this.idle = setTimeout(() => void this.release(), this.idleMs);
          this.idle.unref();
        } else {
          await this.release();
        }
      },
    };
  }

  /** Gives the lease back now (idle, stopping). */
  async release(): Promise<void> {
    this.cancelIdle();
    const held = this.held;
    this.held = null;
    if (!held) return;
    held.heartbeat.stop();
    await this.leases.release(held.lease).catch(() => false);
  }

  private cancelIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
  }
}
