import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppiumServer, appiumStatus } from '../../devices/appium/appium-server.ts';
import {
  REUSED_SESSION_IDLE_TIMEOUT_S,
  AppiumSession,
  sessionCapabilities,
} from '../../devices/appium/appium-session.ts';
import { reapAppiumLeftovers } from '../../devices/appium/appium-pid-file.ts';
import { AppiumSupervisor } from '../../devices/appium/appium-supervisor.ts';
import { freePort } from '../../devices/appium/free-port.ts';
import type { AppiumLog } from '../../devices/appium/log.ts';
import { groupMembers } from '../../devices/appium/process-group.ts';
import { appiumSettings } from '../../devices/appium/appium-driver.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { alive, descendants, until } from '../faults/fault-lab.ts';
import { referenceAppiumDevice } from './appium-lab.ts';
import { chromiumUp, requireService } from '../support/services.ts';

/** A log that keeps its lines, as pino would get them. */
function memoryLog(): AppiumLog & {
  lines: Array<{ level: string; fields: Record<string, unknown>; message: string }>;
} {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) =>
    void lines.push({ level, fields, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const dir = mkdtempSync(path.join(tmpdir(), 'devlab-appium-supervision-'));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.pid && alive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A detached process (its own group) whose command line reads like `argv0 ...args`. */
function detached(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', ...args], {
    detached: true,
    stdio: 'ignore',
  });
  started.push(child);
  return child;
}

function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('reaping what an Appium server of a killed agent left (pid file)', () => {
  it('kills the recorded group when it is an Appium server’s, and removes the pid file', async () => {
    const leader = detached(['/opt/fake/appium/build/lib/main.js', 'server']);
    const pidFile = path.join(dir, 'reap-1.pid');
    const pgid = leader.pid!;
    writeFileSync(
      pidFile,
      JSON.stringify({ pgid, port: 1, startTicks: startTicks(pgid), bootId: bootId(), agentPid: 1 }),
    );
    const log = memoryLog();
    const reaped = await reapAppiumLeftovers(pidFile, log);
    expect(reaped?.killed.map((m) => m.pid)).toEqual([pgid]);
    expect(groupMembers(pgid)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    expect(log.lines.map((l) => l.message).join('\n')).toContain('reaped 1 process(es)');
  });

  it('leaves a group alone that is not Appium’s, or whose leader is another process now', async () => {
    const other = detached(['/opt/something-else/main.js']);
    const appium = detached(['/opt/fake/appium/build/lib/main.js', 'server']);
    const cases = [
      { pgid: other.pid!, startTicks: startTicks(other.pid!) }, // not an Appium process
      { pgid: appium.pid!, startTicks: '1' }, // the pid was reused: another start time
    ];
    for (const [i, c] of cases.entries()) {
      const pidFile = path.join(dir, `reap-alone-${i}.pid`);
      writeFileSync(pidFile, JSON.stringify({ ...c, port: 1, bootId: bootId(), agentPid: 1 }));
      const log = memoryLog();
      expect(await reapAppiumLeftovers(pidFile, log)).toBeNull();
      expect(alive(c.pgid)).toBe(true);
      expect(existsSync(pidFile)).toBe(false);
      expect(log.lines[0]?.message).toContain('left alone');
    }
  });

  it('no pid file, an unreadable one, or a group that ended: nothing is killed', async () => {
    expect(await reapAppiumLeftovers(path.join(dir, 'none.pid'))).toBeNull();
    const garbage = path.join(dir, 'garbage.pid');
    writeFileSync(garbage, 'not json');
    expect(await reapAppiumLeftovers(garbage)).toBeNull();
    expect(existsSync(garbage)).toBe(false);
    const ended = path.join(dir, 'ended.pid');
    const child = detached(['/opt/fake/appium/x']);
    const pgid = child.pid!;
    process.kill(-pgid, 'SIGKILL');
    await until('the group to end', () => groupMembers(pgid).length === 0, 5000, 20);
    writeFileSync(ended, JSON.stringify({ pgid, port: 1, startTicks: null, bootId: bootId(), agentPid: 1 }));
    expect(await reapAppiumLeftovers(ended)).toEqual({ pgid, killed: [] });
  });
});

describe('reused sessions are kept through idle time', () => {
  const settings = appiumSettings(referenceAppiumDevice('tv-4k-hdr'));
  it('a reused session asks Appium for a long newCommandTimeout unless the capabilities set one', () => {
    expect(sessionCapabilities(settings)['appium:newCommandTimeout']).toBe(REUSED_SESSION_IDLE_TIMEOUT_S);
    expect(REUSED_SESSION_IDLE_TIMEOUT_S).toBeGreaterThanOrEqual(3600);
    expect(
      sessionCapabilities({ ...settings, sessionReuse: 'fresh' })['appium:newCommandTimeout'],
    ).toBeUndefined();
    const own = { ...settings, capabilities: { ...settings.capabilities, 'appium:newCommandTimeout': 5 } };
    expect(sessionCapabilities(own)['appium:newCommandTimeout']).toBe(5);
    const nested = {
      ...settings,
      capabilities: { ...settings.capabilities, 'appium:options': { newCommandTimeout: 7 } },
    };
    expect(sessionCapabilities(nested)['appium:newCommandTimeout']).toBeUndefined();
  });
});

const chromiumReady = await requireService('Chromium', chromiumUp);

describe.skipIf(!chromiumReady)('a supervised Appium 3 server', () => {
  const servers: Array<{ stop(): Promise<void> }> = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  async function serverOptions(name: string) {
    return {
      host: '127.0.0.1',
      port: await freePort(),
      appiumHome: PROJECT_ROOT,
      logFile: path.join(dir, `${name}.log`),
    };
  }

  it('stop() returns at once for a server that was killed by a signal (exitCode null, signalCode set)', async () => {
    const server = new AppiumServer(await serverOptions('killed'));
    servers.push(server);
    await server.start();
    const pid = server.pid!;
    process.kill(pid, 'SIGKILL');
    await until('the server to die', () => !alive(pid), 10_000, 20);
    const t0 = Date.now();
    await server.stop();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(groupMembers(pid)).toEqual([]);
  }, 60_000);

  it('restarts a server killed -9 with backoff, logs it, records its group, and stops for good', async () => {
    const log = memoryLog();
    const pidFile = path.join(dir, 'supervised', 'appium.pid');
    const restarted: string[] = [];
    const supervisor = new AppiumSupervisor({
      server: await serverOptions('supervised'),
      pidFile,
      log,
      restartDelayMs: 200,
      onRestarted: (server) => restarted.push(server.url),
    });
    servers.push(supervisor);
    await supervisor.start();
    const first = supervisor.pid!;
    expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toMatchObject({ pgid: first });

    // A session, so that the server has a chromedriver and a Chromium that must go with it.
    const device = referenceAppiumDevice('stick-1080p', { server: supervisor.url });
    const session = new AppiumSession(device, appiumSettings(device));
    await session.open();
    const tree = descendants(first);
    expect(tree.length).toBeGreaterThan(1);
    process.kill(first, 'SIGKILL');

    await until('the server to be restarted', () => restarted.length === 1, 30_000, 50);
    const second = supervisor.pid!;
    expect(second).not.toBe(first);
    expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toMatchObject({ pgid: second });
    await until('the killed server’s chromedriver and Chromium to be gone', () =>
      tree.every((pid) => !alive(pid)),
    );
    const exited = log.lines.find((l) => l.message.startsWith('Appium exited'));
    expect(exited).toMatchObject({
      level: 'warn',
      message: 'Appium exited (signal SIGKILL), restarting in 0.2 s',
      fields: { component: 'appium', signal: 'SIGKILL', pid: first },
    });
    expect(log.lines.some((l) => l.message.startsWith('Appium restarted'))).toBe(true);

    // The session the restarted server does not know is replaced before the next test, not an error.
    const result = await session.run(
      async ({ driver }) => {
        await driver!.url('about:blank');
      },
      { timeoutMs: 30_000 },
    );
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('passed');
    await session.close();

    const t0 = Date.now();
    await supervisor.stop();
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(groupMembers(second)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    // Stopped for good: no restart after it.
    await new Promise((r) => setTimeout(r, 500));
    expect(supervisor.pid).toBeUndefined();
    expect(restarted).toHaveLength(1);
  }, 90_000);

  it('two agents’ supervisors of one port: one starts the server, the other watches it and starts its own when the first stops', async () => {
    const options = await serverOptions('shared');
    const restarted: string[] = [];
    const make = (name: string, log: AppiumLog) =>
      new AppiumSupervisor({
        server: options,
        pidFile: path.join(dir, 'shared', `${name}.pid`),
        log,
        watchIntervalMs: 200,
        onRestarted: (server) => restarted.push(`${name} ${server.url}`),
      });
    const logs = { a: memoryLog(), b: memoryLog() };
    const a = make('a', logs.a);
    const b = make('b', logs.b);
    servers.push(a, b);
    // At once, as two agents of a host starting together: the host lock lets only one start a server.
    await Promise.all([a.start(), b.start()]);
    expect([a.running, b.running].filter(Boolean)).toHaveLength(1);
    const [owner, watcher, watcherName] = a.running ? [a, b, 'b'] : [b, a, 'a'];
    const first = owner.pid!;
    expect(watcher.pid).toBeUndefined();
    expect(existsSync(path.join(dir, 'shared', `${watcherName}.pid`))).toBe(false);
    const watcherLog = watcherName === 'a' ? logs.a : logs.b;
    expect(watcherLog.lines.map((l) => l.message).join('\n')).toContain(
      'runs in another devlab agent of this host',
    );

    // The agent that started it stops: its server goes, and the other one's supervisor starts its own.
    await owner.stop();
    expect(groupMembers(first)).toEqual([]);
    await until('the watcher to start a server', () => restarted.length > 0, 30_000, 50);
    expect(watcher.running).toBe(true);
    expect(restarted).toEqual([`${watcherName} http://127.0.0.1:${options.port}`]);
    expect((await fetch(`${watcher.url}/status`)).ok).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'shared', `${watcherName}.pid`), 'utf8'))).toMatchObject({
      pgid: watcher.pid,
      port: options.port,
    });
    // Handed over under the host lock: no failed start on the way.
    expect(watcherLog.lines.filter((l) => l.level === 'error')).toEqual([]);
  }, 90_000);

  it('a server started outside devlab is used as it is, and never replaced when it goes', async () => {
    const options = await serverOptions('by-hand');
    const byHand = new AppiumServer(options);
    servers.push(byHand);
    await byHand.start();
    const log = memoryLog();
    const supervisor = new AppiumSupervisor({
      server: options,
      pidFile: path.join(dir, 'by-hand', 'agent.pid'),
      log,
      watchIntervalMs: 200,
    });
    servers.push(supervisor);
    await supervisor.start();
    expect(supervisor.running).toBe(false);
    expect(log.lines.map((l) => l.message).join('\n')).toContain('was started outside devlab');
    await byHand.stop();
    await until(
      'the supervisor to see it gone',
      () => log.lines.some((l) => l.message.includes('started outside devlab, does not answer')),
      10_000,
      50,
    );
    expect(supervisor.running).toBe(false);
    expect(await appiumStatus(supervisor.url)).toBeNull();
  }, 60_000);

  it('a reused session ended out of band (DELETE /session) is replaced before the next test', async () => {
    const server = new AppiumServer(await serverOptions('stale'));
    servers.push(server);
    await server.start();
    const device = referenceAppiumDevice('stick-1080p', { server: server.url });
    const log = memoryLog();
    const session = new AppiumSession(device, appiumSettings(device), log);
    await session.open();
    const body = async ({ driver }: { driver?: WebdriverIO.Browser }) => {
      await driver!.url('about:blank');
    };
    expect((await session.run(body, { timeoutMs: 30_000 })).status).toBe('passed');
    await session.reset();
    const stale = session.current!.sessionId;
    const res = await fetch(`${server.url}/session/${stale}`, { method: 'DELETE' });
    expect(res.ok).toBe(true);
    const result = await session.run(body, { timeoutMs: 30_000 });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('passed');
    expect(session.current!.sessionId).not.toBe(stale);
    expect(log.lines.find((l) => l.message.includes('is gone'))).toMatchObject({
      level: 'info',
      fields: { component: 'appium-session', device: device.id, session: stale },
    });
    await session.close();
  }, 60_000);
});
