import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import type { Ui } from './support/ui.ts';
import {
  openScreen,
  playerPosition,
  resetProgress,
  settledPlayerState,
  uiTest,
  waitForScreen,
} from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'resume',
  owner: 'team-playback',
  tags: ['resume', 'playback'],
  priority: 2,
  timeoutMs: 25_000,
  retries: 0,
  requires: { drivers: BOTH },
};

/** Plays `titleId` from its details screen, seeks `seeks` × 30 s, then leaves with Back. */
async function watchAndLeave(ui: Ui, titleId: string, seeks: number): Promise<number> {
  await openScreen(ui, `title/${titleId}`);
  await resetProgress(ui);
  await ui.click('play-button');
  await waitForScreen(ui, 'player');
  expect(await settledPlayerState(ui)).toBe('playing');
  for (let i = 0; i < seeks; i++) await ui.click('player-seek-forward');
  const watched = await playerPosition(ui);
  await ui.press('back');
  await waitForScreen(ui, 'title');
  return watched;
}

export default [
  defineTest(
    {
      ...base,
      id: 'app.resume.position-offered',
      title: 'Leaving playback offers resume at the saved position',
      priority: 3,
    },
    uiTest(async (ui, ctx) => {
      const watched = await ctx.step('watch to ~1:00 and leave', () => watchAndLeave(ui, 't-lantern', 2));
      ctx.log.info('left playback', { watched });
      expect(await ui.exists('resume-button')).toBe(true);
      expect(Number(await ui.attr('resume-button', 'data-position'))).toBeGreaterThanOrEqual(60);
      expect(await ui.focused()).toBe('resume-button');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.resume.resume-starts-at-position',
      title: 'Resume continues from the saved position',
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('watch to ~1:30 and leave', () => watchAndLeave(ui, 't-falcon', 3));
      await ctx.step('choose resume', async () => {
        await ui.waitFor('resume-button', 2000);
        await ui.press('enter');
      });
      await waitForScreen(ui, 'player');
      expect(await settledPlayerState(ui)).toBe('playing');
      expect(await playerPosition(ui)).toBeGreaterThanOrEqual(90);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.resume.fresh-title-no-resume',
      title: 'A title never watched offers Play only',
      priority: 1,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('forget progress', async () => {
        await openScreen(ui, 'home');
        await resetProgress(ui);
      });
      await ctx.step('open Orbit School', () => openScreen(ui, 'title/t-orbit'));
      expect(await ui.exists('resume-button')).toBe(false);
      expect(await ui.text('play-button')).toBe('Play');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.resume.short-watch-not-offered',
      title: 'Leaving within 5 s does not offer resume',
      priority: 1,
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('watch briefly and leave', () => watchAndLeave(ui, 't-velvet', 0));
      expect(await ui.exists('resume-button')).toBe(false);
    }),
  ),
];
