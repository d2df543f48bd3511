import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import type { Ui } from './support/ui.ts';
import { openScreen, uiTest, waitForScreen } from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'search',
  owner: 'team-discovery',
  tags: ['search'],
  priority: 2,
  timeoutMs: 20_000,
  retries: 0,
  requires: { drivers: BOTH },
};

/** How long a user waits for results before retyping; the product spec's budget. */
const RESULTS_BUDGET_MS = 1500;

async function resultsFor(ui: Ui, query: string, timeoutMs: number): Promise<string[]> {
  await ui.waitForAttr('search-results', 'data-query', (q) => q === query, timeoutMs);
  return ui.evaluate(
    () =>
      Array.from(document.querySelectorAll('[data-testid^="result-"]')).map((el) =>
        el.getAttribute('data-testid'),
      ),
    null,
  ) as Promise<string[]>;
}

export default [
  defineTest(
    {
      ...base,
      id: 'app.search.typed-query-results',
      title: 'Typed query shows results within the 1.5 s budget',
      tags: ['search', 'smoke', 'timing'],
      priority: 3,
      retries: 1,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open search', () => openScreen(ui, 'search'));
      await ctx.step('type "aur"', () => ui.type('search-input', 'aur'));
      const debounce = await ui.attr('search-status', 'data-debounce-ms');
      ctx.log.info('search debounce', { debounceMs: debounce });
      const results = await ctx.step('results within budget', () => resultsFor(ui, 'aur', RESULTS_BUDGET_MS));
      expect(results).toContain('result-t-aurora');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.search.onscreen-keyboard',
      title: 'On-screen keyboard types a query with the D-pad',
      tags: ['search', 'navigation'],
      requires: { drivers: BOTH, input: 'dpad' },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open search', () => openScreen(ui, 'search'));
      expect(await ui.focused()).toBe('osk-key-a');
      await ctx.step('select "d"', async () => {
        await ui.press('right', 3);
        await ui.press('enter');
      });
      await ctx.step('select "r"', async () => {
        await ui.press('down');
        await ui.press('right', 4);
        await ui.press('enter');
      });
      expect(await ui.evaluate(() => document.querySelector('input')?.value ?? null, null)).toBe('dr');
      const results = await resultsFor(ui, 'dr', 6000);
      expect(results).toEqual(expect.arrayContaining(['result-t-harbor', 'result-t-nebula']));
    }),
  ),
  defineTest(
    { ...base, id: 'app.search.no-results-message', title: 'A query without matches says so', priority: 1 },
    uiTest(async (ui, ctx) => {
      await ctx.step('open search', () => openScreen(ui, 'search'));
      await ctx.step('type "zzqx"', () => ui.type('search-input', 'zzqx'));
      expect(await resultsFor(ui, 'zzqx', 6000)).toEqual([]);
      await ui.waitFor('search-empty');
      expect(await ui.text('search-empty')).toContain('No titles match');
    }),
  ),
  defineTest(
    { ...base, id: 'app.search.result-opens-details', title: 'Choosing a result opens its details' },
    uiTest(async (ui, ctx) => {
      await ctx.step('open search', () => openScreen(ui, 'search'));
      await ctx.step('type "coral"', () => ui.type('search-input', 'coral'));
      expect(await resultsFor(ui, 'coral', 6000)).toEqual(['result-t-coral']);
      await ctx.step('open result', () => ui.click('result-t-coral'));
      await waitForScreen(ui, 'title');
      expect(await ui.text('title-name')).toBe('Coral Kingdom');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.search.clear-key-empties-results',
      title: 'The clear key empties query and results',
      priority: 1,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open search', () => openScreen(ui, 'search'));
      await ctx.step('type "tide"', () => ui.type('search-input', 'tide'));
      expect(await resultsFor(ui, 'tide', 6000)).toContain('result-t-tide');
      await ctx.step('press clear', () => ui.click('osk-key-clear'));
      expect(await ui.attr('search-results', 'data-count')).toBe('0');
      expect(await ui.evaluate(() => document.querySelector('input')?.value ?? null, null)).toBe('');
    }),
  ),
];
