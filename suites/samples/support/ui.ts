import type { TestContext } from '../../test-api.ts';
import { type DriverPort, playwrightPort, type UiKey, wdioPort } from './port.ts';
import { waitUntil } from './wait.ts';

export type { UiKey };

/** The UI actions sample tests use, over either a WebdriverIO driver or a Playwright page. */
export interface Ui {
  readonly kind: 'appium' | 'browser';
  /** Loads `appUrl` + hash route afresh (a real page load, so no state leaks between steps). */
  open(hashRoute: string): Promise<void>;
  press(key: UiKey, times?: number): Promise<void>;
  click(testId: string): Promise<void>;
  type(testId: string, text: string): Promise<void>;
  /** Trimmed text content, or null when the element is absent. */
  text(testId: string): Promise<string | null>;
  /** Attribute value, or null when the element or attribute is absent. */
  attr(testId: string, name: string): Promise<string | null>;
  exists(testId: string): Promise<boolean>;
  waitFor(testId: string, timeoutMs?: number): Promise<void>;
  waitForAttr(
    testId: string,
    name: string,
    accept: (value: string | null) => boolean,
    timeoutMs?: number,
  ): Promise<string | null>;
  /** data-testid of the focused element. */
  focused(): Promise<string | null>;
  evaluate<R, A>(fn: (arg: A) => R, arg: A): Promise<R>;
  screenshot(): Promise<Buffer>;
}

export const sel = (testId: string): string => `[data-testid="${testId}"]`;

interface Probe {
  sel: string;
  name: string | null;
}

function probe(p: Probe): { exists: boolean; visible: boolean; text: string | null; attr: string | null } {
  const el = document.querySelector(p.sel);
  if (!el) return { exists: false, visible: false, text: null, attr: null };
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return {
    exists: true,
    visible: box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none',
    text: (el.textContent ?? '').trim(),
    attr: p.name === null ? null : el.getAttribute(p.name),
  };
}

export function uiOver(port: DriverPort, appUrl: string, signal?: AbortSignal): Ui {
  const look = (testId: string, name: string | null = null) =>
    port.evaluate(probe, { sel: sel(testId), name });
  let loads = 0;
  const ui: Ui = {
    kind: port.kind,
    async open(hashRoute) {
      const base = new URL(appUrl);
      // A new query string forces a full load even when only the hash differs.
      base.search = `?load=${Date.now()}-${++loads}`;
      base.hash = hashRoute.replace(/^#?/, '#');
      await port.goto(base.toString());
    },
    async press(key, times = 1) {
      for (let i = 0; i < times; i++) await port.key(key);
    },
    click: (testId) => port.click(sel(testId)),
    type: (testId, text) => port.type(sel(testId), text),
    text: async (testId) => (await look(testId)).text,
    attr: async (testId, name) => (await look(testId, name)).attr,
    exists: async (testId) => (await look(testId)).exists,
    async waitFor(testId, timeoutMs = 5000) {
      await waitUntil(async () => (await look(testId)).visible, `${testId} did not become visible`, {
        timeoutMs,
        signal,
      });
    },
    async waitForAttr(testId, name, accept, timeoutMs = 5000) {
      let last: string | null = null;
      return waitUntil(
        async () => {
          last = (await look(testId, name)).attr;
          return accept(last) ? { value: last } : undefined;
        },
        `${testId}[${name}] never reached the expected value (last: ${JSON.stringify(last)})`,
        { timeoutMs, signal },
      ).then((hit) => hit.value);
    },
    focused: () => port.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null, null),
    evaluate: (fn, arg) => port.evaluate(fn, arg),
    screenshot: () => port.screenshot(),
  };
  return ui;
}

/** The Ui for a test context: WebdriverIO when the device is an Appium device, else Playwright. */
export function uiFor(ctx: TestContext): Ui {
  if (ctx.driver) return uiOver(wdioPort(ctx.driver), ctx.appUrl, ctx.signal);
  if (ctx.page) return uiOver(playwrightPort(ctx.page), ctx.appUrl, ctx.signal);
  throw new Error(`test needs a driver or page session; device ${ctx.device.id} gave neither`);
}
