import type { Browser as WdioBrowser } from 'webdriverio';
import type { Page } from 'playwright-core';
import type { Capabilities } from './capabilities.ts';

export const DRIVER_KINDS = ['appium', 'docker', 'browser'] as const;
export type DriverKind = (typeof DRIVER_KINDS)[number];

export const DEVICE_STATES = [
  'available',
  'leased',
  'busy',
  'offline',
  'quarantined',
  'draining',
  'blocked',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** A device as the inventory describes it (driver settings are each driver's own schema). */
export interface DeviceRecord {
  id: string;
  name: string;
  driver: DriverKind;
  model: string;
  platform: string;
  os: string;
  firmware: string;
  capabilities: Capabilities;
  /** The agent host that owns the device. */
  host: string;
  tags: string[];
  settings: Record<string, unknown>;
}

/** Exec and copy helpers for a test running against a container device. */
export interface ContainerHandle {
  readonly id: string;
  exec(
    cmd: string[],
    options?: { timeoutMs?: number },
  ): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  readFile(pathInContainer: string): Promise<Buffer>;
  writeFile(pathInContainer: string, content: string | Buffer): Promise<void>;
}

/** What a session on a device hands to a test body: exactly one of these is set, by driver kind. */
export interface SessionHandles {
  driver?: WdioBrowser;
  page?: Page;
  container?: ContainerHandle;
}

/** A named artifact captured from a device (screenshot, page source, logs, result files). */
export interface Artifact {
  name: string;
  contentType: string;
  data: Buffer;
}
