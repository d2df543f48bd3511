import { PROJECT_ROOT } from '../../harness/config/project-root.ts';

/**
 * An emulated TV of the Appium fault tests (Chromium through Appium) as an inventory entry: its own pool
 * (its own model) so that a run selects the one it means. Without `server` it is driven through the
 * agent host's local Appium server (`DEVLAB_APPIUM_PORT`).
 */
export function appiumTvYaml(o: { id: string; host: string; server?: string; extraCaps?: string }): string {
  return `
  - id: ${o.id}
    name: ${o.id}
    driver: appium
    model: ${o.id.toUpperCase()}
    platform: faultos
    os: FaultOS 1
    firmware: '1.0'
    host: ${o.host}
    capabilities: { codecs: [h264], resolution: 1080p, memoryMb: 1024, input: [dpad] }
    settings:${o.server ? `\n      server: ${o.server}` : ''}
      sessionReuse: reuse
      commandTimeoutMs: 30000
      capabilities:
        browserName: chrome
        platformName: linux
        appium:automationName: Chromium
        appium:executable: /usr/bin/chromedriver${o.extraCaps ?? ''}
        goog:chromeOptions:
          binary: /usr/bin/chromium
          args: [--headless=new, --no-sandbox, --disable-gpu, --disable-quic, --no-first-run, --disable-background-networking, --disable-component-update, --disable-sync]
      emulation: { windowSize: { width: 1280, height: 720 } }`;
}

/** A suite of short UI tests tagged `tag`: each opens the reference app's home screen and checks it. */
export function shortAppiumSuite(tag: string, ids: readonly string[]): string {
  return `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const short = (id) => defineTest(
  { id, title: id, tags: ['${tag}'], component: 'faults', owner: 'qa', timeoutMs: 45000, requires: { drivers: ['appium'] } },
  async ({ driver, appUrl }) => {
    await driver.url(appUrl + '#/home');
    await driver.waitUntil(async () => (await driver.$('body').getAttribute('data-ready')) === 'true', { timeout: 15000 });
    if (!(await driver.getTitle()).includes('Devlab')) throw new Error('not the reference app');
  });
export default [${ids.map((id) => `short('${id}')`).join(', ')}];
`;
}
