import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReferenceApp, startReferenceApp } from '../../suites/reference-app/server.ts';
import navigation from '../../suites/samples/navigation.test-def.ts';
import playback from '../../suites/samples/playback.test-def.ts';
import resume from '../../suites/samples/resume.test-def.ts';
import search from '../../suites/samples/search.test-def.ts';
import smoke from '../../suites/samples/smoke.test-def.ts';
import subtitles from '../../suites/samples/subtitles.test-def.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { launchChromium } from './chromium.ts';
import { BUDGET, HEALTHY, type LabProfile } from './lab-profiles.ts';
import { newDevicePage } from './lab-profiles.ts';
import { contextFor, type RecordedContext } from './test-context.ts';

const ALL = [...smoke, ...navigation, ...search, ...playback, ...subtitles, ...resume];
const sample = (id: string): TestDefinition => {
  const t = ALL.find((x) => x.id === id);
  if (!t) throw new Error(`no sample test ${id}`);
  return t;
};

// The sample bodies themselves, through the Ui adapter, on a real page of the real app.
describe('sample test bodies on Playwright pages of emulated devices', () => {
  let app: ReferenceApp;
  let browser: Browser;
  const pages = new Map<string, Page>();

  async function run(
    id: string,
    profile: LabProfile,
  ): Promise<{ rec: RecordedContext; error: Error | null }> {
    const rec = contextFor(pages.get(profile.id)!, profile, app.url);
    try {
      await sample(id).body(rec.ctx);
      return { rec, error: null };
    } catch (err) {
      return { rec, error: err as Error };
    }
  }

  beforeAll(async () => {
    app = await startReferenceApp();
    browser = await launchChromium();
    for (const p of [HEALTHY, BUDGET]) pages.set(p.id, await newDevicePage(browser, p));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it.each([
    'app.smoke.device-profile-detected',
    'app.search.result-opens-details',
    'app.playback.unsupported-codec-error',
  ])('%s passes on both profiles', async (id) => {
    for (const profile of [HEALTHY, BUDGET]) {
      const { error, rec } = await run(id, profile);
      expect(error, `${profile.id}: ${error?.message}`).toBeNull();
      expect(rec.steps.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['app.playback.hevc-title-fallback', /PLAY-3001/],
    ['app.navigation.down-reaches-every-row', /"trending"/],
    ['app.subtitles.english-cues-render', /SUB-2001/],
    ['app.resume.position-offered', /"resumePosition": 0/],
  ])('%s passes on the healthy profile and fails on the budget one for the defect', async (id, reason) => {
    const healthy = await run(id, HEALTHY);
    expect(healthy.error, healthy.error?.message).toBeNull();

    const budget = await run(id, BUDGET);
    expect(budget.error).not.toBeNull();
    const evidence = `${budget.error?.message}\n${String(budget.rec.attachments.get('app-state.json') ?? '')}`;
    expect(evidence).toMatch(reason);
    expect(budget.rec.attachments.get('screen.png')).toBeInstanceOf(Buffer);
  });
});
