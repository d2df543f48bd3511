import { AppiumSession } from '../../devices/appium/appium-session.ts';
import { type HubEndpoint, hubCommandUrl, hubEndpoint, hubHeaders } from '../../devices/appium/hub-url.ts';
import type { AppiumLog } from '../../devices/appium/log.ts';
import { type AppiumSettings, appiumSettingsSchema } from '../../devices/appium/settings.ts';
import type { Artifact, DeviceRecord } from '../../devices/device.ts';
import { redactText } from '../../devices/redact.ts';
import { sessionCaps } from './session-capabilities.ts';

/** An Appium answer, passed to the client as it came. */
export interface ProxiedAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * The command path of one client session to its Appium session on the device: straight to the device's
 * Appium server (`AppiumProxySession`) or through the agent that owns the device (`RelayedSession`).
 */
export interface SessionProxy {
  readonly appiumSessionId: string;
  /** What Appium answered the session with. */
  readonly capabilities: Record<string, unknown>;
  /** `direct`, or `relay:<agent id>`. */
  readonly via: string;
  /** One command (`rest`: the path after `/session/<id>`); throws `DeviceLostError` when the path fails. */
  forward(
    method: string,
    rest: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<ProxiedAnswer>;
  /** Screenshot, page source and browser log of the session as it is now (what it can give). */
  capture(): Promise<Artifact[]>;
  /** Ends the Appium session (bounded in time; failures are logged, never thrown). */
  close(): Promise<void>;
}

/** The device's Appium server did not answer (refused, reset, too slow): the device is lost to the session. */
export class DeviceLostError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceLostError';
  }
}

/** What Appium answers for a session it does not have (any more): a W3C `invalid session id`. */
export function sessionGone(answer: ProxiedAnswer): boolean {
  return answer.status === 404 && answer.body.includes('"invalid session id"');
}

/**
 * One client session's Appium session on a device, and the command path to it. The session is created
 * the way the lab's own tests create theirs (devices/appium/appium-session.ts: the device's capabilities,
 * its emulation, its own chromedriver port, hub credentials as a header); commands are then sent straight
 * to `<server>/session/<appium id>/...` over keep-alive HTTP and the answer handed back unchanged.
 *
 * The control plane uses it for a device no agent relays (relayed-session.ts: a device whose agent lives
 * is reached through it), and a relaying agent uses it for its own devices (agent-relay.ts).
 */
export class AppiumProxySession implements SessionProxy {
  readonly via = 'direct';
  private readonly base: string;
  private readonly headers: Record<string, string>;

  private constructor(
    private readonly session: AppiumSession,
    readonly appiumSessionId: string,
    /** What Appium answered the session with. */
    readonly capabilities: Record<string, unknown>,
    hub: HubEndpoint,
    private readonly commandTimeoutMs: number,
  ) {
    this.base = hubCommandUrl(hub, `session/${appiumSessionId}`).toString();
    this.headers = { 'content-type': 'application/json; charset=utf-8', ...hubHeaders(hub) };
  }

  /** Creates the Appium session on the device; throws `DeviceLostError` when the device does not give one. */
  static async open(
    device: DeviceRecord,
    client: Record<string, unknown>,
    options: { idleTimeoutMs: number; log: AppiumLog },
  ): Promise<AppiumProxySession> {
    const parsed = appiumSettingsSchema.safeParse(device.settings);
    if (!parsed.success)
      throw new DeviceLostError(
        `${device.id}: its Appium settings are not valid: ${parsed.error.issues[0]?.message}`,
      );
    const settings: AppiumSettings = {
      ...parsed.data,
      capabilities: sessionCaps(device, client, options.idleTimeoutMs),
      sessionReuse: 'reuse',
    };
    const session = new AppiumSession(device, settings, options.log);
    try {
      await session.open();
    } catch (err) {
      // Already scrubbed of the capabilities' secrets and the hub's credentials by AppiumSession.
      throw new DeviceLostError((err as Error).message, { cause: err });
    }
    const browser = session.current;
    if (!browser) throw new DeviceLostError(`${device.id}: Appium gave no session`);
    const answered = (browser.capabilities ?? {}) as Record<string, unknown>;
    const { webSocketUrl: _bidi, ...capabilities } = answered;
    return new AppiumProxySession(
      session,
      browser.sessionId,
      capabilities,
      hubEndpoint(settings.server),
      settings.commandTimeoutMs,
    );
  }

  /**
   * Sends one command (`rest`: the path after `/session/<id>`, e.g. `/url`) and answers what Appium
   * answered. Throws `DeviceLostError` when Appium does not answer within the device's command timeout.
   */
  async forward(
    method: string,
    rest: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<ProxiedAnswer> {
    const timeout = AbortSignal.timeout(this.commandTimeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.base}${rest}`, {
        method,
        headers: this.headers,
        ...(body !== undefined && method !== 'GET' && method !== 'DELETE' ? { body } : {}),
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await res.text();
    } catch (err) {
      if (signal.aborted && !timeout.aborted) throw err;
      const why = timeout.aborted
        ? `no answer within ${this.commandTimeoutMs} ms`
        : redactText((err as Error).message);
      throw new DeviceLostError(
        `the device's Appium server did not answer ${method} ${rest || '/'}: ${why}`,
        {
          cause: err,
        },
      );
    }
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? 'application/json',
      body: text,
    };
  }

  /** Screenshot, page source and browser log of the session as it is now (each bounded in time). */
  capture(): Promise<Artifact[]> {
    return this.session.captureArtifacts();
  }

  /** Ends the Appium session (bounded in time; a server that is gone is logged by AppiumSession). */
  close(): Promise<void> {
    return this.session.close();
  }
}
