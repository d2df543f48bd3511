import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import { openScreen, settledPlayerState, uiTest } from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'accessibility',
  owner: 'team-accessibility',
  tags: ['accessibility'],
  priority: 2,
  timeoutMs: 20_000,
  retries: 0,
  requires: { drivers: BOTH },
};

export default [
  defineTest(
    {
      ...base,
      id: 'app.a11y.tiles-labelled',
      title: 'Every home tile has an accessible name with its title',
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const unlabelled = await ui.evaluate(
        () =>
          Array.from(document.querySelectorAll('[data-testid^="tile-"]'))
            .filter((t) => !(t.getAttribute('aria-label') ?? '').startsWith((t.textContent ?? '').trim()))
            .map((t) => t.getAttribute('data-testid')),
        null,
      );
      expect(unlabelled).toEqual([]);
    }),
  ),
  defineTest(
    { ...base, id: 'app.a11y.player-controls-labelled', title: 'Player controls and progress are announced' },
    uiTest(async (ui, ctx) => {
      await ctx.step('open player', () => openScreen(ui, 'player/t-harbor'));
      expect(await settledPlayerState(ui)).toBe('playing');
      const missing = await ui.evaluate(
        () =>
          Array.from(document.querySelectorAll('[data-testid="player"] button'))
            .filter((b) => !b.getAttribute('aria-label'))
            .map((b) => b.getAttribute('data-testid')),
        null,
      );
      expect(missing).toEqual([]);
      expect(await ui.attr('progress-bar', 'aria-valuemax')).toBe('1800');
      expect(await ui.attr('progress-bar', 'aria-valuetext')).toMatch(/of 30:00$/);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.a11y.error-is-alert',
      title: 'Playback errors are alerts and take focus',
      tags: ['accessibility', 'errors'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open player for an unknown title', () => openScreen(ui, 'player/t-missing'));
      expect(await settledPlayerState(ui)).toBe('error');
      expect(await ui.attr('player-error', 'role')).toBe('alert');
      expect(await ui.focused()).toBe('player-error-back');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.a11y.focus-ring-visible',
      title: 'The focused tile shows a visible focus ring',
      priority: 3,
      tags: ['accessibility', 'navigation'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const ring = await ui.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const style = getComputedStyle(el);
        return { style: style.outlineStyle, width: Number.parseFloat(style.outlineWidth) };
      }, null);
      expect(ring).not.toBeNull();
      expect(ring?.style).not.toBe('none');
      expect(ring?.width).toBeGreaterThanOrEqual(2);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.a11y.settings-focus-order',
      title: 'Down walks settings groups in reading order',
      requires: { drivers: BOTH, input: 'dpad' },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open settings', () => openScreen(ui, 'settings'));
      const order = [await ui.focused()];
      for (let i = 0; i < 4; i++) {
        await ui.press('down');
        order.push(await ui.focused());
      }
      expect(order).toEqual([
        'subtitle-size-small',
        'subtitle-bg-on',
        'subtitle-lang-off',
        'audio-lang-en',
        'settings-reset',
      ]);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.a11y.search-input-labelled',
      title: 'Search field and keyboard are labelled',
      priority: 1,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open search', () => openScreen(ui, 'search'));
      expect(await ui.attr('search-input', 'aria-label')).toBe('Search titles');
      expect(await ui.attr('osk', 'aria-label')).toBe('On-screen keyboard');
      expect(await ui.attr('search-status', 'role')).toBe('status');
    }),
  ),
];
