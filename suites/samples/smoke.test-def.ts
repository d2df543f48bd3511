import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import { BOTH } from './support/meta.ts';
import {
  appDevice,
  openScreen,
  playerPosition,
  settledPlayerState,
  uiTest,
  waitForScreen,
} from './support/app.ts';

const base = {
  component: 'home',
  owner: 'team-qa-platform',
  tags: ['smoke'],
  priority: 3,
  timeoutMs: 20_000,
  retries: 0,
};

// Probes the app answers from MediaSource; the device profile must agree with them.
const PROBED_CODECS = ['h264', 'hevc', 'av1'];

export default [
  defineTest(
    {
      ...base,
      id: 'app.smoke.home-loads',
      title: 'Home screen renders its rows',
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const tiles = await ui.evaluate(() => document.querySelectorAll('[data-testid^="tile-"]').length, null);
      expect(await ui.exists('row-featured')).toBe(true);
      expect(tiles).toBeGreaterThanOrEqual(10);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.smoke.catalog-api',
      title: 'Catalog API answers from the device',
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const body = await ctx.step('fetch /api/titles', () =>
        ui.evaluate(
          () => fetch('/api/titles').then((r) => r.json() as Promise<{ rows: unknown[]; titles: unknown[] }>),
          null,
        ),
      );
      expect(body.rows.length).toBeGreaterThanOrEqual(3);
      expect(body.titles.length).toBeGreaterThanOrEqual(10);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.smoke.device-profile-detected',
      title: 'App detects the device profile (model, resolution, codec probes)',
      tags: ['smoke', 'device-profile'],
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const seen = await appDevice(ui);
      ctx.attach('detected-device.json', JSON.stringify(seen, null, 2), 'application/json');
      if (!seen.token) {
        expect(seen.model).toBe('desktop');
        return;
      }
      const caps = ctx.device.capabilities;
      expect(seen.model).toBe(ctx.device.model);
      expect(seen.resolution).toBe(caps.resolution);
      for (const codec of PROBED_CODECS) {
        expect({ codec, detected: seen.codecs.includes(codec) }).toEqual({
          codec,
          detected: caps.codecs.includes(codec),
        });
      }
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.smoke.title-details-open',
      title: 'Enter on the first tile opens its details',
      requires: { drivers: BOTH, input: 'dpad' },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open home', () => openScreen(ui, 'home'));
      const tile = await ui.focused();
      expect(tile).toBe('tile-featured-t-aurora');
      await ctx.step('press Enter', () => ui.press('enter'));
      await waitForScreen(ui, 'title');
      expect(await ui.text('title-name')).toBe('Aurora Peaks');
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.smoke.h264-playback-starts',
      title: 'H.264 title starts and advances',
      component: 'player',
      tags: ['smoke', 'playback'],
      requires: { drivers: BOTH, codecs: ['h264'] },
    },
    uiTest(async (ui, ctx) => {
      await ctx.step('open player', () => openScreen(ui, 'player/t-harbor'));
      expect(await settledPlayerState(ui)).toBe('playing');
      const before = await playerPosition(ui);
      await ctx.step('position advances', () =>
        ui.waitForAttr('player', 'data-position', (p) => Number(p) >= before + 1, 3000),
      );
    }),
  ),
];
