import type { Browser as WdioBrowser } from 'webdriverio';
import type { Page } from 'playwright-core';
import type { ContainerHandle, DeviceRecord } from '../devices/device.ts';
import type { z } from 'zod';
import type { requirementsSchema, testMetaSchema } from './define-test.ts';

/**
 * Device capabilities a test needs; a (test, device) pair is eligible only when all of them hold. Derived
 * from its schema (suites/define-test.ts), which says what each field means.
 */
export type Requirements = z.output<typeof requirementsSchema>;

/** A test's metadata as validated (defaults applied); derived from its schema (suites/define-test.ts). */
export type TestMeta = z.output<typeof testMetaSchema>;

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
