import type { Logger } from 'pino';
import { appiumSettingsSchema } from '../../devices/appium/settings.ts';
import type { Artifact, DeviceRecord } from '../../devices/device.ts';
import type { RelayClient } from './relay-channel.ts';
import { AppiumProxySession, type ProxiedAnswer, type SessionProxy } from './session-proxy.ts';
import { WebDriverError } from './webdriver-error.ts';

/** Beyond the device's own command timeout (the agent's fetch has it), for the relay's two hops. */
const RELAY_MARGIN_MS = 5_000;
/** The agent's capture takes at most 5 s for each of its three artifacts. */
const CAPTURE_TIMEOUT_MS = 3 * 5_000 + RELAY_MARGIN_MS;
/** Deleting the Appium session is bounded at 5 s by the agent. */
const CLOSE_TIMEOUT_MS = 5_000 + RELAY_MARGIN_MS;
const METHODS = ['GET', 'POST', 'DELETE'] as const;

/** The device's command timeout as the control plane's inventory says (Appium's default, 30 s, else). */
function commandTimeoutMs(device: DeviceRecord): number {
  const parsed = appiumSettingsSchema.safeParse(device.settings);
  return parsed.success ? parsed.data.commandTimeoutMs : 30_000;
}

/**
 * A client session's Appium session held by the agent that owns the device (agent-relay.ts), driven
 * through the WebDriver relay (relay-channel.ts): each command is one request to the agent, which sends
 * it to its Appium server and answers the status and body as they came. An agent that is gone, or that
 * answers nothing in time, is a `DeviceLostError`, as an Appium server that does not answer would be.
 */
export class RelayedSession implements SessionProxy {
  readonly via: string;

  private constructor(
    private readonly relay: RelayClient,
    private readonly agentId: string,
    private readonly relayId: string,
    readonly appiumSessionId: string,
    readonly capabilities: Record<string, unknown>,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.via = `relay:${agentId}`;
  }

  /** Asks `agentId` to open the Appium session; throws `DeviceLostError` when it gives none. */
  static async open(
    relay: RelayClient,
    agentId: string,
    device: DeviceRecord,
    client: Record<string, unknown>,
    options: { idleTimeoutMs: number; log: Logger },
  ): Promise<RelayedSession> {
    const timeoutMs = commandTimeoutMs(device);
    const opened = await relay.call(
      agentId,
      { op: 'open', deviceId: device.id, client, idleTimeoutMs: options.idleTimeoutMs },
      // Chromium's start and the device's emulation are several commands.
      { timeoutMs: Math.max(60_000, 3 * timeoutMs) },
    );
    const { webSocketUrl: _bidi, ...capabilities } = opened.capabilities;
    return new RelayedSession(
      relay,
      agentId,
      opened.relayId,
      opened.appiumSessionId,
      capabilities,
      timeoutMs,
      options.log.child({ agent: agentId, relayId: opened.relayId }),
    );
  }

  forward(
    method: string,
    rest: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<ProxiedAnswer> {
    const verb = METHODS.find((m) => m === method);
    if (!verb)
      return Promise.reject(new WebDriverError('unknown command', `${method} is not a WebDriver method`));
    return this.relay.call(
      this.agentId,
      { op: 'command', relayId: this.relayId, method: verb, rest, ...(body !== undefined ? { body } : {}) },
      { timeoutMs: this.timeoutMs + RELAY_MARGIN_MS, signal },
    );
  }

  async capture(): Promise<Artifact[]> {
    try {
      const captured = await this.relay.call(
        this.agentId,
        { op: 'capture', relayId: this.relayId },
        { timeoutMs: CAPTURE_TIMEOUT_MS },
      );
      return captured.artifacts.map((a) => ({
        name: a.name,
        contentType: a.contentType,
        data: Buffer.from(a.base64, 'base64'),
      }));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'webdriver relay: the session’s final capture failed');
      return [];
    }
  }

  async close(): Promise<void> {
    try {
      await this.relay.call(
        this.agentId,
        { op: 'close', relayId: this.relayId },
        { timeoutMs: CLOSE_TIMEOUT_MS },
      );
    } catch (err) {
      // The agent is gone (its Appium ends the session after its own idle limit) or refused: logged.
      this.log.warn({ err: (err as Error).message }, 'webdriver relay: the Appium session was not closed');
    }
  }
}

/**
 * The command path of a new session on `device`: through the agent that owns it when that agent relays
 * (it reaches the Appium server its own inventory names, often its loopback), else straight to the
 * device's Appium URL. Throws `DeviceLostError` when the device gives no session.
 */
export async function openSessionProxy(
  device: DeviceRecord,
  client: Record<string, unknown>,
  options: { relay?: RelayClient | undefined; idleTimeoutMs: number; log: Logger },
): Promise<SessionProxy> {
  let agent: string | null = null;
  if (options.relay) {
    try {
      agent = await options.relay.agentFor(device);
    } catch (err) {
      options.log.warn(
        { err: (err as Error).message, agent: device.host },
        'webdriver relay: cannot tell whether the device’s agent relays; going to the device directly',
      );
    }
  }
  if (agent) return RelayedSession.open(options.relay!, agent, device, client, options);
  return AppiumProxySession.open(device, client, options);
}
