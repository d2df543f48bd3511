import type { DeviceRecord } from '../../devices/device.ts';
import type { DriverRegistry, Session, SessionOptions } from '../../devices/driver.ts';
import type { AttemptStatus } from '../protocol/verdict.ts';

/**
 * A device worker's driver session, reused from one test to the next: opened when a test needs it, reset
 * after a test that went well, dropped after one that errored, timed out or was cancelled (a session that
 * errored or hung is not trusted again).
 */
export class DeviceSession {
  private session: Session | null = null;
  /** The image the open session was opened for (undefined: the device's own). */
  private image: string | undefined;

  constructor(
    private readonly registry: DriverRegistry,
    private readonly device: DeviceRecord,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The open session, or a new one. A session opened for another image (a container manifest's, or the
   * device's own) is closed first: a test always runs in the image it asked for.
   */
  async get(options: SessionOptions = {}): Promise<Session> {
    if (this.session && this.image !== options.image) await this.drop();
    if (!this.session) {
      this.session = await this.registry.openSession(this.device, options);
      this.image = options.image;
    }
    return this.session;
  }

  /** After a test: the session is reset for the next one, or dropped. */
  async afterRun(status: AttemptStatus): Promise<void> {
    if (!this.session) return;
    if (status === 'error' || status === 'timed-out' || status === 'cancelled') {
      await this.drop();
      return;
    }
    try {
      await this.session.reset();
    } catch (err) {
      this.log(
        `device ${this.device.id}: session reset failed, the next test opens a new one: ${(err as Error).message}`,
      );
      await this.drop();
    }
  }

  /** Closes the session (if any); a close that fails is logged, the session is gone either way. */
  async drop(): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.close().catch((err: unknown) => {
      this.log(`device ${this.device.id}: closing its session failed: ${(err as Error).message}`);
    });
  }
}
