import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import { openScreen, resetSettings, settledPlayerState, uiTest } from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'settings',
  owner: 'team-settings',
  tags: ['settings'],
  priority: 1,
  timeoutMs: 20_000,
  retries: 0,
  requires: { drivers: BOTH },
};

export default [
  defineTest(
    {
      ...base,
      id: 'app.settings.subtitle-size-persists',
      title: 'Subtitle size survives reopening settings',
      priority: 2,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('choose large', async () => {
        await openScreen(ui, 'settings');
        await resetSettings(ui);
        await ui.click('subtitle-size-large');
      });
      try {
        await ctx.step('reopen settings', () => openScreen(ui, 'settings'));
        expect(await ui.attr('subtitle-size-large', 'aria-pressed')).toBe('true');
        expect(await ui.attr('subtitle-size-medium', 'aria-pressed')).toBe('false');
      } finally {
        await resetSettings(ui);
      }
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.settings.subtitle-size-applied',
      title: 'Subtitle size applies to the player',
      tags: ['settings', 'subtitles'],
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('choose large', async () => {
        await openScreen(ui, 'settings');
        await ui.click('subtitle-size-large');
      });
      try {
        await ctx.step('open player', () => openScreen(ui, 'player/t-harbor'));
        expect(await settledPlayerState(ui)).toBe('playing');
        expect(await ui.attr('subtitle-line', 'data-size')).toBe('large');
        expect(await ui.attr('subtitle-line', 'class')).toContain('size-large');
      } finally {
        await resetSettings(ui);
      }
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.settings.audio-language-applied',
      title: 'Audio language applies to playback',
      tags: ['settings', 'playback'],
      priority: 2,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('choose Spanish audio', async () => {
        await openScreen(ui, 'settings');
        await ui.click('audio-lang-es');
      });
      try {
        await ctx.step('open player', () => openScreen(ui, 'player/t-harbor'));
        expect(await settledPlayerState(ui)).toBe('playing');
        expect(await ui.attr('player', 'data-audio-lang')).toBe('es');
      } finally {
        await resetSettings(ui);
      }
    }),
  ),
  defineTest(
    { ...base, id: 'app.settings.reset-defaults', title: 'Reset restores default settings' },
    uiTest(async (ui, ctx) => {
      await ctx.step('change two settings, then reset', async () => {
        await openScreen(ui, 'settings');
        await ui.click('subtitle-size-small');
        await ui.click('audio-lang-de');
        await ui.click('settings-reset');
      });
      expect(await ui.attr('subtitle-size-medium', 'aria-pressed')).toBe('true');
      expect(await ui.attr('audio-lang-en', 'aria-pressed')).toBe('true');
      await openScreen(ui, 'settings');
      expect(await ui.attr('audio-lang-en', 'aria-pressed')).toBe('true');
    }),
  ),
];
