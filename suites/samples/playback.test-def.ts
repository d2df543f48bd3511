import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'expect';
import { defineTest } from '../define-test.ts';
import type { Ui } from './support/ui.ts';
import { appDevice, openScreen, playerPosition, settledPlayerState, uiTest } from './support/app.ts';
import { BOTH } from './support/meta.ts';

const base = {
  component: 'player',
  owner: 'team-playback',
  tags: ['playback'],
  priority: 2,
  timeoutMs: 20_000,
  retries: 0,
};

interface Playback {
  state: string;
  errorCode: string | null;
  codec: string | null;
  resolution: string | null;
  hdr: string | null;
}

async function startTitle(ui: Ui, titleId: string): Promise<Playback> {
  await openScreen(ui, `player/${titleId}`);
  const state = await settledPlayerState(ui);
  return {
    state,
    errorCode: await ui.attr('player', 'data-error-code'),
    codec: await ui.attr('player', 'data-codec'),
    resolution: await ui.attr('player', 'data-resolution'),
    hdr: await ui.attr('player', 'data-hdr'),
  };
}

export default [
  defineTest(
    {
      ...base,
      id: 'app.playback.h264-start',
      title: 'H.264 HD title plays',
      tags: ['playback', 'codecs', 'smoke'],
      priority: 3,
      requires: { drivers: BOTH, codecs: ['h264'] },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Harbor Lights', () => startTitle(ui, 't-harbor'));
      expect(p).toMatchObject({ state: 'playing', codec: 'h264', hdr: 'sdr' });
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.hevc-title-fallback',
      title: 'HEVC-first title falls back to H.264 where HEVC is missing',
      tags: ['playback', 'codecs', 'fallback'],
      priority: 3,
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Aurora Peaks', () => startTitle(ui, 't-aurora'));
      ctx.attach('playback.json', JSON.stringify(p), 'application/json');
      expect({ state: p.state, errorCode: p.errorCode }).toEqual({ state: 'playing', errorCode: null });
      expect(ctx.device.capabilities.codecs).toContain(p.codec);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.hevc-4k-start',
      title: 'HEVC 4K title starts in 2160p',
      tags: ['playback', 'codecs', '4k'],
      requires: { drivers: BOTH, codecs: ['hevc'], minResolution: '2160p', minMemoryMb: 2048 },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Aurora Peaks', () => startTitle(ui, 't-aurora'));
      expect(p).toMatchObject({ state: 'playing', codec: 'hevc', resolution: '2160p' });
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.av1-4k-start',
      title: 'AV1 4K title starts',
      tags: ['playback', 'codecs', '4k'],
      requires: { drivers: BOTH, codecs: ['av1'], minResolution: '2160p' },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Coral Kingdom', () => startTitle(ui, 't-coral'));
      ctx.attach('playback.json', JSON.stringify(p), 'application/json');
      expect({ state: p.state, errorCode: p.errorCode, codec: p.codec }).toEqual({
        state: 'playing',
        errorCode: null,
        codec: 'av1',
      });
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.hdr-colours-correct',
      title: 'HDR title renders with correct tone mapping on every HDR device',
      tags: ['playback', 'hdr'],
      priority: 2,
      requires: { drivers: BOTH, hdr: true, codecs: ['hevc'] },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Nebula Drift', () => startTitle(ui, 't-nebula'));
      expect(p.state).toBe('playing');
      const toneMap = await ui.attr('player-surface', 'data-tone-map');
      const classes = (await ui.attr('player-surface', 'class')) ?? '';
      ctx.attach('playback.json', JSON.stringify({ ...p, toneMap, classes }), 'application/json');
      expect({ toneMap, washedOut: classes.includes('washed-out') }).toEqual({
        toneMap: 'correct',
        washedOut: false,
      });
      expect(ctx.device.capabilities.hdr).toContain(p.hdr);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.dolby-vision-4k',
      title: 'Dolby Vision devices get the Dolby Vision grade in 4K',
      tags: ['playback', 'hdr', '4k'],
      requires: {
        drivers: BOTH,
        hdr: ['dolby-vision'],
        minResolution: '2160p',
        codecs: ['hevc'],
        minMemoryMb: 2048,
      },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Nebula Drift', () => startTitle(ui, 't-nebula'));
      expect(p).toMatchObject({ state: 'playing', hdr: 'dolby-vision', resolution: '2160p' });
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.pause-resume',
      title: 'Pause holds the position, Play continues',
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      expect((await startTitle(ui, 't-harbor')).state).toBe('playing');
      await ctx.step('pause', () => ui.click('player-play-pause'));
      expect(await ui.attr('player', 'data-state')).toBe('paused');
      const held = await playerPosition(ui);
      await sleep(1200);
      expect(await playerPosition(ui)).toBe(held);
      await ctx.step('play', () => ui.click('player-play-pause'));
      expect(await ui.attr('player', 'data-state')).toBe('playing');
      await ui.waitForAttr('player', 'data-position', (pos) => Number(pos) > held, 3000);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.seek-forward',
      title: 'Seek forward jumps 30 s per press',
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      expect((await startTitle(ui, 't-harbor')).state).toBe('playing');
      await ctx.step('seek +30 s twice', async () => {
        await ui.click('player-seek-forward');
        await ui.click('player-seek-forward');
      });
      expect(await playerPosition(ui)).toBeGreaterThanOrEqual(60);
      expect(Number(await ui.attr('progress-bar', 'aria-valuenow'))).toBeGreaterThanOrEqual(60);
    }),
  ),
  defineTest(
    {
      ...base,
      id: 'app.playback.unsupported-codec-error',
      title: 'AV1-only title plays with AV1 and shows PLAY-3002 without it',
      tags: ['playback', 'codecs', 'errors'],
      priority: 1,
      requires: { drivers: BOTH },
    },
    uiTest(async (ui, ctx) => {
      const p = await ctx.step('start Glacier Song', () => startTitle(ui, 't-glacier'));
      // What the app detected, not the inventory: without the DevlabDevice token the app assumes a
      // desktop browser (h264/vp9), and this test is about how it handles what it believes.
      const detected = await appDevice(ui);
      if (detected.codecs.includes('av1')) {
        expect(p).toMatchObject({ state: 'playing', codec: 'av1' });
        return;
      }
      expect(p).toMatchObject({ state: 'error', errorCode: 'PLAY-3002' });
      expect(await ui.text('player-error-code')).toBe('PLAY-3002');
    }),
  ),
];
