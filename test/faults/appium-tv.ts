import { rmSync } from 'node:fs';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import {
  describeResults,
  descendants,
  expectOneResultPerJob,
  type FaultLab,
  type JobResults,
  processCommand,
  waitForRunOrExplain,
} from './fault-lab.ts';

/**
 * An emulated TV of the Appium fault tests (Chromium through Appium) as an inventory entry: by default its
 * own pool (its own model) so that a run selects the one it means; TVs given one `model` share a pool.
 * Without `server` it is driven through the agent host's local Appium server (`DEVLAB_APPIUM_PORT`).
 */
export function appiumTvYaml(o: {
  id: string;
  host: string;
  server?: string;
  model?: string;
  extraCaps?: string;
}): string {
  return `
  - id: ${o.id}
    name: ${o.id}
    driver: appium
    model: ${o.model ?? o.id.toUpperCase()}
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

/** The Appium server process `agent` runs on `port`: its descendant whose command line is Appium's there. */
export function appiumServerOf(agent: AgentProcess, port: number): number | undefined {
  return descendants(agent.child.pid!).find((p) => {
    const cmd = processCommand(p);
    return cmd.includes('/appium/') && cmd.includes(`--port ${port}`);
  });
}

/** Runs the tests tagged `tag` on `device` (in order); the run's status, one result per job, and their story. */
export async function runTaggedOn(
  lab: FaultLab,
  tag: string,
  device: string,
): Promise<{ status: string; results: JobResults[]; story: string }> {
  const { store, controlPlane } = lab.server;
  const { run } = await controlPlane.submit({
    query: `tag:${tag}`,
    select: `id:${device}`,
    options: { ordering: 'fifo' },
  });
  const status = await waitForRunOrExplain(lab, run.id, 60_000);
  const results = expectOneResultPerJob(store, run.id);
  return { status, results, story: describeResults(results) };
}

/** The device states of the lab's Redis prefix. */
export const labStates = (lab: FaultLab): DeviceStateStore =>
  new DeviceStateStore(lab.server.redis, { prefix: `${lab.config.redisPrefix}:` });

/** Closes the lab and removes `dir`; with DEVLAB_FAULT_VERBOSE set, prints each agent's output first. */
export async function closeAgentLab(lab: FaultLab | undefined, dir: string): Promise<void> {
  if (process.env['DEVLAB_FAULT_VERBOSE'])
    for (const a of lab?.agents ?? []) console.log(`agent ${a.child.pid}:\n${a.output()}`);
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
}
