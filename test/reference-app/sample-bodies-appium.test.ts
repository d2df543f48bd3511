import { freePort } from '../../devices/appium/free-port.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remote } from 'webdriverio';
import { AppiumServer } from '../../devices/appium/appium-server.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type ReferenceApp, startReferenceApp } from '../../suites/reference-app/server.ts';
import navigation from '../../suites/samples/navigation.test-def.ts';
import subtitles from '../../suites/samples/subtitles.test-def.ts';
import type { TestContext, TestDefinition } from '../../suites/test-api.ts';
import { CHROMIUM_ARGS } from './chromium.ts';
import { BUDGET, deviceRecordFor, HEALTHY, type LabProfile, userAgentFor } from './lab-profiles.ts';

const sample = (id: string): TestDefinition => [...navigation, ...subtitles].find((t) => t.id === id)!;

// The main path for streaming devices: the same bodies over WebdriverIO through a real Appium 3 server.
// Profiles come from the UA and window size only (no codec override here), so only UA/layout defects run.
describe('sample test bodies over WebdriverIO + Appium (chromium driver)', () => {
  let app: ReferenceApp;
  let appium: AppiumServer;

  beforeAll(async () => {
    app = await startReferenceApp();
    appium = await new AppiumServer({
      host: '127.0.0.1',
      port: await freePort(),
      appiumHome: PROJECT_ROOT,
    }).start();
  });
  afterAll(async () => {
    await appium?.stop();
    await app?.close();
  });

  async function runOn(profile: LabProfile, ids: string[]): Promise<Map<string, Error | null>> {
    const url = new URL(appium.url);
    const driver = await remote({
      hostname: url.hostname,
      port: Number(url.port),
      logLevel: 'error',
      connectionRetryCount: 0,
      capabilities: {
        browserName: 'chrome',
        platformName: 'linux',
        'appium:automationName': 'Chromium',
        'appium:executable': '/usr/bin/chromedriver',
        'goog:chromeOptions': {
          binary: '/usr/bin/chromium',
          args: [
            '--headless=new',
            ...CHROMIUM_ARGS,
            `--user-agent=${userAgentFor(profile)}`,
            `--window-size=${profile.viewport.width},${profile.viewport.height}`,
          ],
        },
      } as WebdriverIO.Capabilities,
    });
    const results = new Map<string, Error | null>();
    try {
      for (const id of ids) {
        const ctx: TestContext = {
          driver,
          device: deviceRecordFor(profile),
          appUrl: app.url,
          log: { info() {}, warn() {}, error() {} },
          step: async (_name, fn) => fn(),
          attach() {},
          signal: new AbortController().signal,
        };
        results.set(
          id,
          await sample(id)
            .body(ctx)
            .then(
              () => null,
              (err: Error) => err,
            ),
        );
      }
    } finally {
      await driver.deleteSession();
    }
    return results;
  }

  it('passes on the healthy profile and fails on the budget one for D2 and D4', async () => {
    const ids = ['app.navigation.down-reaches-every-row', 'app.subtitles.english-cues-render'];
    const healthy = await runOn(HEALTHY, ids);
    for (const id of ids) expect(healthy.get(id), `${id}: ${healthy.get(id)?.message}`).toBeNull();
    const budget = await runOn(BUDGET, ids);
    expect(budget.get(ids[0]!)?.message).toMatch(/"trending"/);
    expect(budget.get(ids[1]!)?.message).toMatch(/SUB-2001/);
  });
});
