import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeviceRecord } from '../../devices/device.ts';
import type { LabKeys } from '../queue/names.ts';
import type { RelayOperation } from './relay-protocol.ts';
import { RelayRefusal, RelayServer } from './relay-server.ts';
import { AppiumProxySession } from './session-proxy.ts';

/** A relayed command is never cut short by the control plane's client: only by its own timeout. */
const NO_CLIENT = new AbortController().signal;
/** A session no control plane asked anything of for this long past the lab's idle timeout is closed. */
const FORGET_AFTER_IDLE_MS = 60_000;

interface RelayedEntry {
  proxy: AppiumProxySession;
  device: DeviceRecord;
  idleTimeoutMs: number;
  lastUsed: number;
}

export interface AgentRelayOptions {
  agentId: string;
  /** The agent's own devices; the Appium ones are relayed, reached through the agent's inventory. */
  devices: readonly DeviceRecord[];
  /** The agent's command connection; the relay opens a blocking one of its own from it. */
  redis: Redis;
  keys: LabKeys;
  logger: Logger;
  /** The agent's relay record lives this long without renewal (default 3000 ms). */
  ttlMs?: number;
  /** How often closed-but-forgotten sessions are looked for (default 30 s). */
  sweepEveryMs?: number;
}

/**
 * An agent's WebDriver relay: the control plane's `/wd/hub` sessions on this agent's Appium devices are
 * opened, driven, captured and closed here, against the Appium server the agent's own inventory names
 * (often its loopback, which the control plane cannot reach). Each session is the same
 * `AppiumProxySession` the control plane uses for a device it reaches itself.
 */
export class AgentRelay {
  private readonly sessions = new Map<string, RelayedEntry>();
  private readonly devices: ReadonlyMap<string, DeviceRecord>;
  private readonly server: RelayServer;
  private readonly log: Logger;
  private sweep: NodeJS.Timeout | null = null;

  constructor(private readonly options: AgentRelayOptions) {
    this.log = options.logger.child({ component: 'webdriver-relay' });
    this.devices = new Map(options.devices.filter((d) => d.driver === 'appium').map((d) => [d.id, d]));
    this.server = new RelayServer(options.redis, options.keys, {
      agentId: options.agentId,
      devices: [...this.devices.keys()],
      handler: (operation) => this.handle(operation),
      log: this.log,
      ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}),
    });
  }

  /** Relayed sessions open now. */
  get open(): number {
    return this.sessions.size;
  }

  async start(): Promise<this> {
    if (this.devices.size === 0) return this;
    await this.server.start();
    this.sweep = setInterval(() => void this.forgetIdle(), this.options.sweepEveryMs ?? 30_000);
    this.sweep.unref();
    return this;
  }

  /** No more requests, then every relayed session closed (bounded in time by `AppiumSession`). */
  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    await this.server.stop();
    const open = [...this.sessions.entries()];
    this.sessions.clear();
    await Promise.all(open.map(([relayId, entry]) => this.closeEntry(relayId, entry, 'the agent stops')));
  }

  private async handle(operation: RelayOperation): Promise<unknown> {
    if (operation.op === 'open') return this.openSession(operation);
    const entry = this.sessions.get(operation.relayId);
    if (!entry)
      throw new RelayRefusal(
        `no relayed session ${operation.relayId} here (the agent restarted, or it was closed)`,
      );
    entry.lastUsed = Date.now();
    const fields = {
      device: entry.device.id,
      relayId: operation.relayId,
      appiumSession: entry.proxy.appiumSessionId,
    };
    switch (operation.op) {
      case 'command':
        try {
          return await entry.proxy.forward(operation.method, operation.rest, operation.body, NO_CLIENT);
        } catch (err) {
          this.log.warn(
            { ...fields, err: (err as Error).message },
            'webdriver relay: a command got no answer',
          );
          throw err;
        }
      case 'capture': {
        const artifacts = await entry.proxy.capture();
        return {
          artifacts: artifacts.map((a) => ({
            name: a.name,
            contentType: a.contentType,
            base64: a.data.toString('base64'),
          })),
        };
      }
      case 'close':
        this.sessions.delete(operation.relayId);
        await this.closeEntry(operation.relayId, entry, 'the control plane ended it');
        return {};
    }
  }

  private async openSession(operation: Extract<RelayOperation, { op: 'open' }>): Promise<unknown> {
    const device = this.devices.get(operation.deviceId);
    if (!device)
      throw new RelayRefusal(`agent ${this.options.agentId} has no Appium device ${operation.deviceId}`);
    let proxy: AppiumProxySession;
    try {
      proxy = await AppiumProxySession.open(device, operation.client, {
        idleTimeoutMs: operation.idleTimeoutMs,
        log: this.log,
      });
    } catch (err) {
      this.log.warn(
        { device: device.id, err: (err as Error).message },
        'webdriver relay: the device gave no Appium session',
      );
      throw err;
    }
    const relayId = randomUUID();
    this.sessions.set(relayId, {
      proxy,
      device,
      idleTimeoutMs: operation.idleTimeoutMs,
      lastUsed: Date.now(),
    });
    this.log.info(
      { device: device.id, relayId, appiumSession: proxy.appiumSessionId },
      'webdriver relay: session opened',
    );
    return { relayId, appiumSessionId: proxy.appiumSessionId, capabilities: proxy.capabilities };
  }

  /** Sessions whose control plane stopped asking (it died): closed a minute past the lab's idle timeout. */
  private async forgetIdle(): Promise<void> {
    const now = Date.now();
    for (const [relayId, entry] of this.sessions) {
      if (now - entry.lastUsed < entry.idleTimeoutMs + FORGET_AFTER_IDLE_MS) continue;
      this.sessions.delete(relayId);
      await this.closeEntry(relayId, entry, 'no control plane asked anything of it past the idle timeout');
    }
  }

  private async closeEntry(relayId: string, entry: RelayedEntry, why: string): Promise<void> {
    // AppiumSession.close is bounded and logs a server that is gone; nothing else can throw here.
    await entry.proxy.close();
    this.log.info(
      { device: entry.device.id, relayId, appiumSession: entry.proxy.appiumSessionId, why },
      'webdriver relay: session closed',
    );
  }
}
