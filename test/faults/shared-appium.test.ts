import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import type { AgentProcess } from '../support/agent-process.ts';
import { chromiumUp, redisUp, requireService } from '../support/services.ts';
import {
  appiumServerOf,
  appiumTvYaml,
  closeAgentLab,
  labStates,
  runTaggedOn,
  shortAppiumSuite,
} from './appium-tv.ts';
import { type FaultLab, startFaultLab, until, writeSuite } from './fault-lab.ts';

/** Two agents of one host (as the reference lab's agent-a and agent-b), one TV each. */
const A = 'fault-shared-a';
const B = 'fault-shared-b';
const TV_A = 'fault-shared-tv-a';
const TV_B = 'fault-shared-tv-b';

describe('two agents of one host share its local Appium server (real agents, Appium 3, Chromium, Redis)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fault-shared-appium-'));
  let lab: FaultLab | undefined;
  let port = 0;
  let agentA: AgentProcess | undefined;
  let agentB: AgentProcess | undefined;

  beforeAll(async () => {
    if (!up) return;
    // The devices name no server: both are driven through the host's local one, on the configured port.
    port = await freePort();
    lab = await startFaultLab({
      dir,
      name: 'shared-appium',
      inventoryYaml: `devices:${appiumTvYaml({ id: TV_A, host: A })}${appiumTvYaml({ id: TV_B, host: B })}\n`,
      suites: writeSuite(dir, 'shared-appium', shortAppiumSuite('shared-appium', ['shared.a', 'shared.b'])),
      // Health rounds far apart: only an Appium server down for more than 20 s would quarantine a device.
      env: {
        DEVLAB_APPIUM_PORT: String(port),
        DEVLAB_HEALTH_INTERVAL_MS: '10000',
        DEVLAB_LOG_LEVEL: 'info',
      },
    });
    agentA = await lab.startAgent(A);
    agentB = await lab.startAgent(B);
  }, 120_000);
  afterAll(() => closeAgentLab(lab, dir));

  /** The agent's Appium server process on the configured port, if it runs one. */
  const appiumOf = (a: AgentProcess): number | undefined => appiumServerOf(a, port);

  /** Runs both tests on `device`: every attempt passed (no infrastructure error on the way). */
  async function expectRunPasses(device: string): Promise<void> {
    const { status, results, story } = await runTaggedOn(lab!, 'shared-appium', device);
    expect(status, story).toBe('passed');
    for (const { attempts } of results)
      expect(
        attempts.map((a) => [a.status, a.deviceId]),
        story,
      ).toEqual([['passed', device]]);
  }

  /** Agent `host` says it restarted Appium on the port, and runs it. */
  async function expectRestartedBy(host: string, a: AgentProcess): Promise<void> {
    await until(
      `agent ${host} to say it restarted Appium on ${port}`,
      () => a.output().includes(`Appium restarted on http://127.0.0.1:${port}`),
      30_000,
      100,
    );
    expect(appiumOf(a)).toBeDefined();
  }

  it.skipIf(!up)(
    'DEVLAB_APPIUM_PORT is the port the agents’ Appium server listens on: one server, started by the first agent',
    async () => {
      expect((await fetch(`http://127.0.0.1:${port}/status`)).ok).toBe(true);
      expect(appiumOf(agentA!)).toBeDefined();
      // The second agent found it answering: it watches it rather than starting a second one.
      expect(appiumOf(agentB!)).toBeUndefined();
      expect(agentB!.output()).toContain(
        `Appium on http://127.0.0.1:${port} runs in another devlab agent of this host`,
      );
      await expectRunPasses(TV_A);
      await expectRunPasses(TV_B);
    },
    60_000,
  );

  it.skipIf(!up)(
    'stopping the agent that started it: the other agent starts the server again, its device keeps passing and is never quarantined',
    async () => {
      const stoppedAt = Date.now();
      await agentA!.stop();
      expect(agentA!.child.exitCode).toBe(0);
      // The other agent runs the server now, on the same port.
      await expectRestartedBy(B, agentB!);
      expect((await fetch(`http://127.0.0.1:${port}/status`)).ok).toBe(true);
      await expectRunPasses(TV_B);
      const states = labStates(lab!);
      expect((await states.get(TV_B)).state).toBe('available');
      expect((await states.history(TV_B)).filter((t) => t.to === 'quarantined' && t.at >= stoppedAt)).toEqual(
        [],
      );
    },
    60_000,
  );

  it.skipIf(!up)(
    'kill -9 of the agent that runs it: the server it leaves keeps serving, and once that one dies too the other agent starts it again',
    async () => {
      // The first agent comes back and finds the second one's server.
      agentA = await lab!.startAgent(A);
      expect(appiumOf(agentA)).toBeUndefined();
      const left = appiumOf(agentB!)!;
      agentB!.kill9();
      await until(
        `agent ${B} to die`,
        () => agentB!.child.exitCode !== null || agentB!.child.signalCode !== null,
      );
      // Its server lives on in its own process group, and serves the other agent's device.
      expect((await fetch(`http://127.0.0.1:${port}/status`)).ok).toBe(true);
      await expectRunPasses(TV_A);
      // Then it dies too, with its chromedriver and Chromium (nobody else would end those).
      const killedAt = Date.now();
      process.kill(-left, 'SIGKILL');
      await expectRestartedBy(A, agentA!);
      await expectRunPasses(TV_A);
      const states = labStates(lab!);
      expect((await states.history(TV_A)).filter((t) => t.to === 'quarantined' && t.at >= killedAt)).toEqual(
        [],
      );
    },
    60_000,
  );
});
