import { Key } from 'webdriverio';
import type { Browser as WdioBrowser } from 'webdriverio';
import type { Page } from 'playwright-core';

/** Remote-control keys the reference app understands (Back is Escape on the lab's Chromium). */
export type UiKey = 'left' | 'right' | 'up' | 'down' | 'enter' | 'back';

/** The few primitives that differ between WebdriverIO and Playwright; everything else is built on them. */
export interface DriverPort {
  readonly kind: 'appium' | 'browser';
  goto(url: string): Promise<void>;
  key(key: UiKey): Promise<void>;
  click(selector: string): Promise<void>;
  type(selector: string, text: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R, arg: A): Promise<R>;
  screenshot(): Promise<Buffer>;
}

const WDIO_KEYS: Record<UiKey, string> = {
  left: Key.ArrowLeft,
  right: Key.ArrowRight,
  up: Key.ArrowUp,
  down: Key.ArrowDown,
  enter: Key.Enter,
  back: Key.Escape,
};

const PLAYWRIGHT_KEYS: Record<UiKey, string> = {
  left: 'ArrowLeft',
  right: 'ArrowRight',
  up: 'ArrowUp',
  down: 'ArrowDown',
  enter: 'Enter',
  back: 'Escape',
};

// A script call that never answers (a hung BiDi call, a renderer stuck in a throttled page) fails the
// step with a clear message instead of waiting for the protocol's own 3-minute timeout.
const SCRIPT_TIMEOUT_MS = 15_000;

function bounded<R>(work: Promise<R>, what: string): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${SCRIPT_TIMEOUT_MS} ms`)),
      SCRIPT_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function wdioPort(driver: WdioBrowser): DriverPort {
  return {
    kind: 'appium',
    goto: async (url) => {
      await driver.url(url);
    },
    key: (key) => driver.keys(WDIO_KEYS[key]),
    click: async (selector) => {
      await driver.$(selector).click();
    },
    type: async (selector, text) => {
      await driver.$(selector).addValue(text);
    },
    // WebdriverIO's execute typing maps element arguments; ours are plain JSON, so its overloads are bypassed.
    evaluate: <R, A>(fn: (arg: A) => R, arg: A) =>
      bounded(
        (driver.execute as (f: (a: A) => R, a: A) => Promise<R>).call(driver, fn, arg),
        'driver.execute',
      ),
    screenshot: async () => Buffer.from(await driver.takeScreenshot(), 'base64'),
  };
}

export function playwrightPort(page: Page): DriverPort {
  return {
    kind: 'browser',
    goto: async (url) => {
      await page.goto(url);
    },
    key: (key) => page.keyboard.press(PLAYWRIGHT_KEYS[key]),
    click: (selector) => page.locator(selector).click({ timeout: 5000 }),
    type: (selector, text) => page.locator(selector).pressSequentially(text, { timeout: 5000 }),
    evaluate: <R, A>(fn: (arg: A) => R, arg: A) =>
      bounded((page.evaluate as (f: (a: A) => R, a: A) => Promise<R>).call(page, fn, arg), 'page.evaluate'),
    screenshot: () => page.screenshot(),
  };
}
