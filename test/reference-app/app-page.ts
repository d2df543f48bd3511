import type { Page } from 'playwright-core';

/** Loads a hash route afresh and waits until the app rendered that screen. */
export async function openRoute(page: Page, appUrl: string, route: string): Promise<void> {
  const url = new URL(appUrl);
  url.search = `?t=${Date.now()}`;
  url.hash = `#/${route}`;
  await page.goto(url.toString());
  const name = route.split(/[/?]/)[0]!;
  await page.waitForFunction(
    (n) => document.body.dataset['ready'] === 'true' && document.body.dataset['route'] === n,
    name,
    {
      timeout: 8000,
    },
  );
}

export const byTestId = (id: string): string => `[data-testid="${id}"]`;

/** Player state once it left "loading". */
export async function settledPlayer(page: Page): Promise<Record<string, string | undefined>> {
  await page.waitForFunction(
    () => {
      const s = document.querySelector<HTMLElement>('[data-testid="player"]')?.dataset['state'];
      return s !== undefined && s !== 'loading';
    },
    null,
    { timeout: 5000 },
  );
  return page.evaluate(() => ({ ...document.querySelector<HTMLElement>('[data-testid="player"]')!.dataset }));
}

export function focusedTestId(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
}
