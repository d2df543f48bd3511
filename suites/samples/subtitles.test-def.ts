import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import type { Ui } from './support/ui.ts';
import { openScreen, resetSettings, settledPlayerState, uiTest } from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'subtitles',
  owner: 'team-playback-ux',
  tags: ['subtitles', 'playback'],
  priority: 2,
  timeoutMs: 20_000,
  retries: 0,
  requires: { drivers: BOTH },
};

async function cueText(ui: Ui): Promise<string | null> {
  const state = await ui.waitForAttr(
    'subtitle-line',
    'data-state',
    (s) => s === 'ready' || s === 'error',
    4000,
  );
  if (state === 'error') {
    throw new Error(`subtitle renderer failed: ${await ui.attr('subtitle-line', 'data-error')}`);
  }
  await ui.waitFor('subtitle-text', 3000);
  return ui.text('subtitle-text');
}

async function play(ui: Ui, route: string): Promise<void> {
  await openScreen(ui, route);
  expect(await settledPlayerState(ui)).toBe('playing');
}

export default [
  defineTest(
    {
      ...base,
      id: 'app.subtitles.english-cues-render',
      title: 'English subtitles show the current cue',
      priority: 3,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('play Harbor Lights', () => play(ui, 'player/t-harbor'));
      await ctx.step('subtitles: English', () => ui.click('player-subtitles-en'));
      expect(await cueText(ui)).toBe('Hello from the reference lab.');
      expect(await ui.attr('player-subtitles-en', 'aria-pressed')).toBe('true');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.subtitles.spanish-language',
      title: 'Spanish subtitles mid-title show the Spanish cue',
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('play Harbor Lights at 0:25', () => play(ui, 'player/t-harbor?start=25'));
      await ctx.step('subtitles: Spanish', () => ui.click('player-subtitles-es'));
      expect(await cueText(ui)).toBe('La señal es clara esta noche.');
      expect(await ui.attr('subtitle-line', 'lang')).toBe('es');
    }),
  ),
  defineTest(
    { ...base, id: 'app.subtitles.off-hides', title: 'Subtitles off removes the cue line', priority: 1 },
    uiTest(async (ui, ctx) => {
      await ctx.step('play Harbor Lights', () => play(ui, 'player/t-harbor'));
      await ctx.step('subtitles: English, then off', async () => {
        await ui.click('player-subtitles-en');
        await ui.click('player-subtitles-off');
      });
      expect(await ui.attr('subtitle-line', 'data-state')).toBe('off');
      expect(await ui.exists('subtitle-text')).toBe(false);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.subtitles.menu-lists-languages',
      title: 'Subtitle menu offers off, English, Spanish and German',
      priority: 1,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('play Harbor Lights', () => play(ui, 'player/t-harbor'));
      const labels = await ui.evaluate(
        () =>
          Array.from(document.querySelectorAll('[data-testid^="player-subtitles-"]')).map((b) =>
            b.getAttribute('aria-label'),
          ),
        null,
      );
      expect(labels).toEqual(['Subtitles off', 'Subtitles English', 'Subtitles Spanish', 'Subtitles German']);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.subtitles.default-language-from-settings',
      title: 'Subtitle language chosen in settings is on when playback starts',
      tags: ['subtitles', 'settings'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('settings: German subtitles', async () => {
        await openScreen(ui, 'settings');
        await ui.click('subtitle-lang-de');
      });
      try {
        await ctx.step('play Harbor Lights', () => play(ui, 'player/t-harbor'));
        expect(await ui.attr('player', 'data-subtitles')).toBe('de');
        expect(await cueText(ui)).toBe('Hallo aus dem Labor.');
      } finally {
        await resetSettings(ui);
      }
    }),
  ),
];
