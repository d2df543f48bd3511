import type { Browser as WdioBrowser } from 'webdriverio';
import type { Page } from 'playwright-core';
import type { ContainerHandle, DeviceRecord, DriverKind } from '../devices/device.ts';
import type { InputKind, Resolution } from '../devices/capabilities.ts';

/** Device capabilities a test needs; a (test, device) pair is eligible only when all of them hold. */
export interface Requirements {
  /** Every codec listed must be decodable. */
  codecs?: string[];
  /** true: any HDR format; a list: at least one of these formats. */
  hdr?: boolean | string[];
  /** DRM system and the minimum security level, e.g. { system: 'widevine', level: 'L1' }. */
  drm?: { system: string; level?: string };
  minResolution?: Resolution;
  minMemoryMb?: number;
  input?: InputKind;
  /** Driver kinds the test body can run on (it uses `driver`, `page` or `container`). */
  drivers?: DriverKind[];
}

export interface TestMeta {
  /** Stable id: history is keyed by it, so it survives title and code changes. */
  id: string;
  title: string;
  tags: string[];
  component: string;
  owner: string;
  /** 0 (lowest) to 3 (release blocker). */
  priority: number;
  timeoutMs: number;
  retries: number;
  requires: Requirements;
}

export interface TestLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** What a test body receives: one session handle for its device's driver kind, plus reporting helpers. */
export interface TestContext {
  /** WebdriverIO browser, for Appium devices. */
  driver?: WdioBrowser;
  /** Playwright page, for browser devices. */
  page?: Page;
  /** Exec/copy helpers, for Docker devices. */
  container?: ContainerHandle;
  device: DeviceRecord;
  /** Base URL of the app under test (the reference app in the reference lab). */
  appUrl: string;
  log: TestLogger;
  step<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  attach(name: string, data: string | Buffer, contentType?: string): void;
  /** Aborted when the test times out or its run is cancelled. */
  signal: AbortSignal;
}

export type TestBody = (ctx: TestContext) => Promise<void>;

export interface TestDefinition extends TestMeta {
  body: TestBody;
}
