import type { ZodType } from 'zod';
import type { Artifact, DeviceRecord, DriverKind, SessionHandles } from './device.ts';
import type { ErrorInfo } from './errors.ts';

/** passed/failed are the test's verdict; timed-out and error mean the run could not finish normally. */
export type RunStatus = 'passed' | 'failed' | 'timed-out' | 'error';

export interface RunOptions {
  timeoutMs: number;
  /** Cancels the run; the body is abandoned and the session treated as broken. */
  signal?: AbortSignal;
}

export interface RunResult {
  status: RunStatus;
  error?: ErrorInfo;
  artifacts: Artifact[];
  durationMs: number;
}

export type TestBodyFn = (handles: SessionHandles) => Promise<void>;

/** What a test asks of the session it runs in. */
export interface SessionOptions {
  /**
   * The image a container test runs in (a container manifest's `image`), instead of the device's own;
   * only the docker driver starts images, the others ignore it.
   */
  image?: string;
}

/** A live connection to one device; runs test bodies one after another. */
export interface Session {
  readonly device: DeviceRecord;
  run(body: TestBodyFn, options: RunOptions): Promise<RunResult>;
  /** Screenshots, page source, logs or result files, whatever the driver offers right now. */
  captureArtifacts(): Promise<Artifact[]>;
  /** Brings the device back to a clean state between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** One kind of device (Appium, Docker, browser): validates its settings and opens sessions. */
export interface DeviceDriver<S = unknown> {
  readonly kind: DriverKind;
  readonly settingsSchema: ZodType<S>;
  openSession(device: DeviceRecord, options?: SessionOptions): Promise<Session>;
  /** Releases shared resources (engine connections, browsers); sessions are closed by their owners. */
  dispose?(): Promise<void>;
}

/** Driver kind → driver; the agent picks a device's driver here. */
export class DriverRegistry {
  private readonly drivers = new Map<DriverKind, DeviceDriver>();

  register(driver: DeviceDriver): this {
    this.drivers.set(driver.kind, driver);
    return this;
  }

  get(kind: DriverKind): DeviceDriver {
    const driver = this.drivers.get(kind);
    if (!driver) throw new Error(`No driver registered for kind "${kind}"`);
    return driver;
  }

  has(kind: DriverKind): boolean {
    return this.drivers.has(kind);
  }

  openSession(device: DeviceRecord, options?: SessionOptions): Promise<Session> {
    return this.get(device.driver).openSession(device, options);
  }

  async dispose(): Promise<void> {
    for (const driver of this.drivers.values()) await driver.dispose?.();
  }
}
