/**
 * What `devlab init` writes into a repo (path relative to it → content): a config naming the suite folder
 * and the inventory, an inventory with one Playwright browser device on Debian's Chromium, and one UI test.
 */
export function scaffoldFiles(host: string): Record<string, string> {
  return {
    'devlab.config.yaml': `# devlab configuration (README: "Use devlab in your own repo"). Paths are relative to this file;
# DEVLAB_* environment variables override what is set here.
suites: [devlab/tests]            # folders (or globs of folders) of *.test-def.ts and *.manifest.yaml files
inventory: devlab/inventory.yaml  # the devices of this lab
home: .devlab                     # data dir: the store, artifacts, models and logs
# redisUrl: redis://127.0.0.1:6379
# redisPrefix: devlab             # keys and queues of this lab: give each lab sharing a Redis its own
# api: { host: 127.0.0.1, port: 7420 }
`,
    'devlab/inventory.yaml': `# The devices of this lab; an agent owns the devices whose host is its --host.
version: 1
devices:
  - id: web-chromium
    name: Chromium (headless)
    driver: browser
    model: desktop-chrome
    platform: web
    os: Debian Chromium
    firmware: host
    host: ${JSON.stringify(host)}
    tags: [web]
    capabilities:
      codecs: [h264, vp9]
      hdr: []
      resolution: 1080p
      memoryMb: 4096
      input: [pointer]
    settings:
      descriptor: Desktop Chrome
      executablePath: /usr/bin/chromium
`,
    'devlab/tests/example.test-def.ts': `import { defineTest, expect } from 'devlab';

// A UI test on the inventory's browser device: the agent opens a Chromium page for it (\`page\`, Playwright)
// and \`appUrl\` is the app under test (\`devlab agent --app-url URL\`).
export default defineTest(
  {
    id: 'example.app-loads',
    title: 'The app answers and renders a page',
    tags: ['smoke'],
    component: 'app',
    owner: 'my-team',
    timeoutMs: 30_000,
    requires: { drivers: ['browser'] },
  },
  async ({ page, appUrl, step }) => {
    if (!page) throw new Error('this test needs a browser device');
    const response = await step('open the app', () => page.goto(appUrl));
    expect(response?.ok()).toBe(true);
    expect(await page.locator('body').count()).toBe(1);
  },
);
`,
  };
}
