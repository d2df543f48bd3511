import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import { HEALTH_ACTOR } from '../../devices/health/health-monitor.ts';
import { agentAppiumDir } from '../../harness/lab/agent-appium.ts';
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
import {
  alive,
  descendants,
  expectNoLeaseLeft,
  type FaultLab,
  processCommand,
  startFaultLab,
  until,
  writeSuite,
} from './fault-lab.ts';

const AGENT = 'fault-appium-sup';
/** A TV with a reused session (Appium's newCommandTimeout left to devlab). */
const TV = 'fault-sup-tv';
/** A TV whose reused session Appium ends after 2 s without a command (what 60 s did in the lab). */
const IDLE_TV = 'fault-sup-idle';

const SUITE = shortAppiumSuite('appium-sup', ['sup.a', 'sup.b']);

describe('the agent supervises the Appium server it starts (real agent, Appium 3, Chromium, Redis)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fault-appium-sup-'));
  let lab: FaultLab | undefined;
  let port = 0;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    if (!up) return;
    // Nothing runs on the port: the agent starts (and supervises) the server itself.
    port = await freePort();
    const server = `http://127.0.0.1:${port}`;
    lab = await startFaultLab({
      dir,
      name: 'appium-sup',
      inventoryYaml: `devices:${appiumTvYaml({ id: TV, host: AGENT, server })}${appiumTvYaml({
        id: IDLE_TV,
        host: AGENT,
        server,
        extraCaps: '\n        appium:newCommandTimeout: 2',
      })}\n`,
      suites: writeSuite(dir, 'appium-sup', SUITE),
      // Frequent health rounds: a dead server quarantines its devices within a second.
      env: { DEVLAB_HEALTH_INTERVAL_MS: '200', DEVLAB_LOG_LEVEL: 'info' },
    });
    agent = await lab.startAgent(AGENT);
  });
  afterAll(() => closeAgentLab(lab, dir));

  /** The agent's Appium server process: its child whose command line is Appium's on the lab's port. */
  function appiumOf(a: AgentProcess): number {
    const pid = appiumServerOf(a, port);
    if (!pid) throw new Error(`agent ${a.child.pid} runs no Appium server on ${port}`);
    return pid;
  }

  /** Runs both tests on `device`; returns the run's status and every attempt (none may be an error). */
  const runOn = (device: string) => runTaggedOn(lab!, 'appium-sup', device);

  const states = () => labStates(lab!);

  it.skipIf(!up)(
    'a reused session Appium ended while it was idle is replaced before the next test: no error',
    async () => {
      const first = await runOn(IDLE_TV);
      expect(first.status, first.story).toBe('passed');
      // Idle past the device's newCommandTimeout: Appium ends the reused session.
      await new Promise((r) => setTimeout(r, 4500));
      const second = await runOn(IDLE_TV);
      expect(second.status, second.story).toBe('passed');
      for (const { job, attempts } of second.results) {
        expect(job.verdict, second.story).toBe('passed');
        expect(job.infraAttempts, second.story).toBe(0);
        expect(
          attempts.map((a) => a.status),
          second.story,
        ).toEqual(['passed']);
      }
      expect(agent!.output()).toContain(`the reused Appium session of ${IDLE_TV} is gone`);
    },
    90_000,
  );

  it.skipIf(!up)(
    'kill -9 of the agent: its next life reaps the Appium server, chromedriver and Chromium left running',
    async () => {
      // A reused session stays open after the run: a chromedriver and its Chromium run under Appium.
      const before = await runOn(TV);
      expect(before.status, before.story).toBe('passed');
      const appium = appiumOf(agent!);
      const tree = [appium, ...descendants(appium)];
      const commands = tree.map(processCommand);
      expect(
        commands.some((c) => c.includes('chromedriver')),
        commands.join('\n'),
      ).toBe(true);
      expect(
        commands.some((c) => /chromium/.test(c)),
        commands.join('\n'),
      ).toBe(true);
      const pidFile = path.join(agentAppiumDir(lab!.config, AGENT), `appium-${port}.pid`);
      expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toMatchObject({ pgid: appium, port });

      agent!.kill9();
      await until(
        'the agent to die',
        () => agent!.child.exitCode !== null || agent!.child.signalCode !== null,
      );
      // What the agent started lives on without it (its own process group).
      expect(tree.filter(alive).length).toBeGreaterThan(0);

      agent = await lab!.startAgent(AGENT);
      // Reaped before the new life takes jobs: none of the old processes runs any more.
      expect(tree.filter(alive), commands.join('\n')).toEqual([]);
      expect(agent.output()).toMatch(/reaped \d+ process\(es\) of the Appium server on port \d+/);
      // The new life runs its own server, and the device works.
      expect(appiumOf(agent)).not.toBe(appium);
      const after = await runOn(TV);
      expect(after.status, after.story).toBe('passed');
    },
    120_000,
  );

  it.skipIf(!up)(
    'Appium killed -9: restarted by the agent, the device returns to service by itself and runs; SIGTERM ends the agent',
    async () => {
      // A reused session is open (the run before), so the restart also leaves it stale.
      const warm = await runOn(TV);
      expect(warm.status, warm.story).toBe('passed');
      const killed = appiumOf(agent!);
      const tree = descendants(killed);
      const killedAt = Date.now();
      process.kill(killed, 'SIGKILL');

      await until(
        'the agent to say Appium exited',
        () => /Appium exited \(signal SIGKILL\), restarting in \d+(\.\d+)? s/.test(agent!.output()),
        10_000,
      );
      // The dead server's devices are quarantined by their health checks ...
      await until(
        `${TV} to be quarantined`,
        async () =>
          (await states().history(TV)).some(
            (t) => t.to === 'quarantined' && t.by === HEALTH_ACTOR && t.at >= killedAt,
          ),
        15_000,
        50,
      );
      // ... and come back by themselves once the restarted server answers.
      await until(
        `${TV} to return to service`,
        async () => (await states().get(TV)).state === 'available',
        60_000,
      );
      const restarted = appiumOf(agent!);
      expect(restarted).not.toBe(killed);
      await until('the killed server’s chromedriver and Chromium to be gone', () =>
        tree.every((p) => !alive(p)),
      );

      const after = await runOn(TV);
      expect(after.status, after.story).toBe('passed');
      for (const { attempts } of after.results)
        expect(
          attempts.map((a) => a.status),
          after.story,
        ).toEqual(['passed']);
      await expectNoLeaseLeft(lab!.server.redis, `${lab!.config.redisPrefix}:`);

      // SIGTERM: the agent exits by itself (not the SIGKILL its stop sends after 10 s), and takes its
      // Appium server, chromedriver and Chromium with it.
      const serverTree = [restarted, ...descendants(restarted)];
      const t0 = Date.now();
      await agent!.stop();
      const took = Date.now() - t0;
      expect(agent!.child.signalCode).toBeNull();
      expect(agent!.child.exitCode).toBe(0);
      expect(took).toBeLessThan(10_000);
      await until('the agent’s Appium processes to be gone', () => serverTree.every((p) => !alive(p)), 5000);
      expect(existsSync(path.join(agentAppiumDir(lab!.config, AGENT), `appium-${port}.pid`))).toBe(false);
    },
    150_000,
  );
});
