import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import { openScreen, uiTest, waitForScreen } from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'navigation',
  owner: 'team-home',
  tags: ['navigation'],
  priority: 2,
  timeoutMs: 20_000,
  retries: 0,
  requires: { drivers: BOTH, input: 'dpad' as const },
};

const ROW_ORDER = ['featured', 'trending', 'documentaries', 'kids'];

const rowOf = (testId: string | null): string | null => testId?.split('-')[1] ?? null;

export default [
  defineTest(
    {
      ...base,
      id: 'app.navigation.initial-focus',
      title: 'Home opens with focus on the first tile',
      tags: ['navigation', 'smoke'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      expect(await ui.focused()).toBe('tile-featured-t-aurora');
    }),
  ),
  defineTest(
    { ...base, id: 'app.navigation.right-moves-focus', title: 'Right moves focus along a row' },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      await ctx.step('press Right twice', () => ui.press('right', 2));
      expect(await ui.focused()).toBe('tile-featured-t-coral');
      await ctx.step('press Left', () => ui.press('left'));
      expect(await ui.focused()).toBe('tile-featured-t-nebula');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.navigation.down-reaches-every-row',
      title: 'Down walks through every home row',
      priority: 3,
      tags: ['navigation', 'focus-trap'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const visited = [rowOf(await ui.focused())];
      for (let i = 1; i < ROW_ORDER.length; i++) {
        await ctx.step(`press Down (${i})`, () => ui.press('down'));
        visited.push(rowOf(await ui.focused()));
      }
      ctx.log.info('rows visited', { visited });
      expect(visited).toEqual(ROW_ORDER);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.navigation.row-end-stops',
      title: 'Right at the end of a row keeps focus on the last tile',
      tags: ['navigation', 'focus-trap'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home, go to Trending', async () => {
        await openScreen(ui, 'home');
        await ui.press('down');
      });
      expect(rowOf(await ui.focused())).toBe('trending');
      await ctx.step('press Right past the end', () => ui.press('right', 7));
      expect(await ui.focused()).toBe('tile-trending-t-tide');
    }),
  ),
  defineTest(
    { ...base, id: 'app.navigation.enter-opens-details', title: 'Enter on a tile opens that title' },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      await ctx.step('Right, Enter', () => ui.press('right').then(() => ui.press('enter')));
      await waitForScreen(ui, 'title');
      expect(await ui.attr('screen-title', 'data-title-id')).toBe('t-nebula');
      expect(await ui.focused()).toBe('play-button');
    }),
  ),
  defineTest(
    { ...base, id: 'app.navigation.back-returns-home', title: 'Back from details returns to home' },
    uiTest(async (ui, ctx) => {
      await ctx.step('open a title from home', async () => {
        await openScreen(ui, 'home');
        await ui.press('enter');
        await waitForScreen(ui, 'title');
      });
      await ctx.step('press Back', () => ui.press('back'));
      await waitForScreen(ui, 'home');
      expect(await ui.exists('screen-home')).toBe(true);
    }),
  ),
  defineTest(
    { ...base, id: 'app.navigation.nav-bar-reachable', title: 'Up from the first row reaches the menu bar' },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      await ctx.step('press Up', () => ui.press('up'));
      expect(await ui.focused()).toBe('nav-home');
      await ctx.step('Right, Enter on Search', () => ui.press('right').then(() => ui.press('enter')));
      await waitForScreen(ui, 'search');
    }),
  ),
];
