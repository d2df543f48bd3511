import type { TestBody, TestContext } from '../../test-api.ts';
import { type Ui, uiFor } from './ui.ts';
import { waitUntil } from './wait.ts';

/** What the reference app believes about the device (window.devlabApp.device). */
export interface AppDevice {
  token: boolean;
  model: string;
  platform: string;
  firmware: string;
  resolution: string;
  codecs: string[];
  hdr: string[];
  memoryMb: number;
  layout: 'compact' | 'full';
  cpuFactor: number;
}

/** Opens a hash route ('home', 'title/t-x', 'player/t-x?start=30') and waits until the screen rendered. */
export async function openScreen(ui: Ui, route: string, timeoutMs = 8000): Promise<void> {
  await ui.open(`#/${route}`);
  await waitForScreen(ui, route.split(/[/?]/)[0]!, timeoutMs);
}

export async function waitForScreen(ui: Ui, name: string, timeoutMs = 5000): Promise<void> {
  await waitUntil(
    () =>
      ui.evaluate(
        (expected) =>
          document.body.dataset['ready'] === 'true' && document.body.dataset['route'] === expected,
        name,
      ),
    `screen "${name}" did not render`,
    { timeoutMs },
  );
}

/** Waits for the player to leave "loading"; returns the state it settled in (playing, error, ...). */
export async function settledPlayerState(ui: Ui, timeoutMs = 5000): Promise<string> {
  const state = await ui.waitForAttr('player', 'data-state', (s) => s !== null && s !== 'loading', timeoutMs);
  return state ?? 'missing';
}

export async function playerPosition(ui: Ui): Promise<number> {
  return Number(await ui.attr('player', 'data-position'));
}

export function appDevice(ui: Ui): Promise<AppDevice> {
  return ui.evaluate(
    () => (window as unknown as { devlabApp: { device: AppDevice } }).devlabApp.device,
    null,
  );
}

/** Forgets this device's resume positions (the app must be open, for its origin). */
export async function resetProgress(ui: Ui): Promise<void> {
  await ui.evaluate(() => fetch('/api/progress', { method: 'DELETE' }).then((r) => r.status), null);
}

/** Restores default settings (the app must be open, for its origin). */
export async function resetSettings(ui: Ui): Promise<void> {
  await ui.evaluate(() => localStorage.removeItem('devlab.settings'), null);
}

async function attachEvidence(ctx: TestContext, ui: Ui): Promise<void> {
  try {
    const state = await ui.evaluate(
      () => (window as unknown as { devlabApp?: { state(): unknown } }).devlabApp?.state() ?? null,
      null,
    );
    ctx.attach('app-state.json', JSON.stringify(state, null, 2), 'application/json');
    ctx.attach('screen.png', await ui.screenshot(), 'image/png');
  } catch (err) {
    ctx.log.warn('could not capture evidence', { error: String(err) });
  }
}

/** A test body over the Ui adapter; on failure the app state and a screenshot are attached. */
export function uiTest(fn: (ui: Ui, ctx: TestContext) => Promise<void>): TestBody {
  return async (ctx) => {
    const ui = uiFor(ctx);
    try {
      await fn(ui, ctx);
    } catch (err) {
      await attachEvidence(ctx, ui);
      throw err;
    }
  };
}
