import { remote } from 'webdriverio';
import type { Browser as WdioBrowser } from 'webdriverio';
import type { Artifact, DeviceRecord } from '../device.ts';
import type { RunOptions, RunResult, Session, TestBodyFn } from '../driver.ts';
import { errorInfo, InfrastructureError } from '../errors.ts';
import { redactText, scrubSecrets, secretValues } from '../redact.ts';
import { runBody, withTimeout } from '../run-body.ts';
import { captureWebdriverArtifacts } from './artifacts.ts';
import { cdp } from './cdp.ts';
import { applyEmulation, capabilitiesWithEmulation } from './emulation.ts';
import { withChromedriverPort } from './free-port.ts';
import { hubEndpoint, hubHeaders } from './hub-url.ts';
import { type AppiumLog, silentLog } from './log.ts';
import { resetScript } from './reset-script.ts';
import type { AppiumSettings } from './settings.ts';

const KILL_TIMEOUT_MS = 5000;
/** The longest a reused session's liveness probe may take before the session counts as gone. */
const PROBE_TIMEOUT_MS = 5000;

/** What a server says of a session it does not have (any more). */
const GONE_SESSION =
  /invalid session id|session is either terminated or not started|session (is )?(deleted|not found)/i;

/**
 * How long Appium keeps a reused session that gets no command (`appium:newCommandTimeout`, seconds), unless
 * the capabilities say: Appium's default, 60 s, ends a session that waits a minute for its next test.
 * Not 0 (never): a session an agent killed -9 left on a server it did not start must end some day. A
 * session that ended anyway is replaced before the next test (`AppiumSession.run`).
 */
export const REUSED_SESSION_IDLE_TIMEOUT_S = 3600;

/** The capabilities a session is created with: emulation applied; a reused one kept through idle hours. */
export function sessionCapabilities(settings: AppiumSettings): Record<string, unknown> {
  const caps = capabilitiesWithEmulation(settings.capabilities, settings.emulation);
  const nested = caps['appium:options'];
  const given =
    caps['appium:newCommandTimeout'] !== undefined ||
    (typeof nested === 'object' && nested !== null && 'newCommandTimeout' in nested);
  if (settings.sessionReuse !== 'reuse' || given) return caps;
  return { ...caps, 'appium:newCommandTimeout': REUSED_SESSION_IDLE_TIMEOUT_S };
}

/** A WebdriverIO session on an Appium server; reused across tests or fresh per test, per the settings. */
export class AppiumSession implements Session {
  private browser: WdioBrowser | null = null;
  /** A test ran since the last reset. */
  private dirty = false;

  constructor(
    readonly device: DeviceRecord,
    private readonly settings: AppiumSettings,
    private readonly log: AppiumLog = silentLog,
  ) {}

  /** The live WebdriverIO session, if one is open. */
  get current(): WdioBrowser | null {
    return this.browser;
  }

  private async connect(): Promise<WdioBrowser> {
    // The hub's credentials (a device cloud's user and access key) never go in a URL: WebdriverIO sends
    // `user`/`key` as Basic auth on session creation only, so the same header goes with every command too
    // (a hub behind an authenticating proxy checks each request).
    const hub = hubEndpoint(this.settings.server);
    const server = hub.url;
    try {
      const browser = await remote({
        protocol: server.protocol.replace(':', ''),
        hostname: server.hostname,
        port: Number(server.port || (server.protocol === 'https:' ? 443 : 80)),
        path: server.pathname,
        ...(hub.authorization ? { user: hub.user, key: hub.key, headers: hubHeaders(hub) } : {}),
        logLevel: 'silent',
        connectionRetryTimeout: this.settings.commandTimeoutMs,
        connectionRetryCount: 0,
        capabilities: {
          ...(await withChromedriverPort(sessionCapabilities(this.settings))),
          // Classic WebDriver only: BiDi through Appium adds a socket per session and no feature we use.
          'wdio:enforceWebDriverClassic': true,
        } as WebdriverIO.Capabilities,
      });
      try {
        await applyEmulation(browser, this.device, this.settings.emulation);
      } catch (err) {
        await withTimeout(browser.deleteSession(), KILL_TIMEOUT_MS, 'deleteSession').catch(() => {});
        throw err;
      }
      return browser;
    } catch (err) {
      // The server's answer may quote the capabilities: their secrets must not reach results and logs.
      // So may the server URL's own credentials (a device cloud's access key).
      const secrets = secretValues(
        { capabilities: this.settings.capabilities, server: this.settings.server },
        this.settings.secretCapabilities,
      );
      const message = scrubSecrets((err as Error).message ?? String(err), secrets);
      throw new InfrastructureError(
        `Appium session on ${hub.display} for ${this.device.id} failed: ${message}`,
        // The original error is not kept as the cause: loggers print causes, secrets and all.
        { deviceId: this.device.id, cause: new Error(message) },
      );
    }
  }

  /** Opens the session now, so that a broken server shows at lease time rather than in a test. */
  async open(): Promise<this> {
    if (this.settings.sessionReuse === 'reuse') this.browser = await this.connect();
    return this;
  }

  async run(body: TestBodyFn, options: RunOptions): Promise<RunResult> {
    const started = performance.now();
    let browser: WdioBrowser;
    try {
      browser = (await this.reusable()) ?? (await this.connect());
      this.browser = browser;
    } catch (err) {
      await this.kill();
      return {
        status: 'error',
        error: errorInfo(err, 'infrastructure'),
        artifacts: [],
        durationMs: performance.now() - started,
      };
    }
    this.dirty = true;
    const outcome = await runBody(body, { driver: browser }, options);
    let artifacts: Artifact[] = [];
    if (outcome.status !== 'passed') {
      // A hung session gets a short capture window; a failed one the normal one.
      artifacts = await captureWebdriverArtifacts(browser, outcome.status === 'failed' ? 5000 : 2000);
    }
    if (outcome.status === 'timed-out' || outcome.status === 'error') await this.kill();
    else if (this.settings.sessionReuse === 'fresh') await this.kill();
    return { ...outcome, artifacts, durationMs: performance.now() - started };
  }

  /**
   * The open session, if it still works. A reused session may have ended since its last test: Appium
   * ended it (idle past its `newCommandTimeout`, or the server was restarted), or its browser died. A reset
   * still owed and one cheap command (the current URL) tell; a session that fails them is dropped, so that
   * the test gets a new one instead of an infrastructure error.
   */
  private async reusable(): Promise<WdioBrowser | null> {
    const browser = this.browser;
    if (!browser) return null;
    try {
      if (this.dirty) await this.reset();
      await withTimeout(
        browser.getUrl(),
        Math.min(PROBE_TIMEOUT_MS, this.settings.commandTimeoutMs),
        'getUrl',
      );
      return browser;
    } catch (err) {
      const message = this.scrub(err);
      this.log.info(
        { component: 'appium-session', device: this.device.id, session: browser.sessionId, err: message },
        `the reused Appium session of ${this.device.id} is gone (${message}); opening a new one`,
      );
      if (GONE_SESSION.test(message)) {
        // The server does not know the session any more: nothing to delete.
        this.browser = null;
        this.dirty = false;
      } else await this.kill();
      return null;
    }
  }

  /** An error's message with the capabilities' secrets and the server URL's credentials masked. */
  private scrub(err: unknown): string {
    const secrets = secretValues(
      { capabilities: this.settings.capabilities, server: this.settings.server },
      this.settings.secretCapabilities,
    );
    return redactText(scrubSecrets((err as Error)?.message ?? String(err), secrets));
  }

  async captureArtifacts(): Promise<Artifact[]> {
    return this.browser ? captureWebdriverArtifacts(this.browser) : [];
  }

  /** The last page stopped, no cookies, no storage of its origin: the next test starts clean (reset-script.ts). */
  async reset(): Promise<void> {
    const browser = this.browser;
    if (!browser) return;
    try {
      await Promise.all([
        cdp(browser, 'Runtime.evaluate', {
          expression: resetScript(this.settings.reset),
        }),
        cdp(browser, 'Network.clearBrowserCookies'),
      ]);
      this.dirty = false;
    } catch (err) {
      await this.kill();
      throw new InfrastructureError(
        `Resetting the session on ${this.device.id} failed: ${(err as Error).message}`,
        {
          deviceId: this.device.id,
          cause: err,
        },
      );
    }
  }

  /** Ends the session without waiting long for a hung one; the next run opens a new one. */
  private async kill(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    this.dirty = false;
    if (!browser) return;
    try {
      await withTimeout(browser.deleteSession(), KILL_TIMEOUT_MS, 'deleteSession');
    } catch (err) {
      // A session that already ended (or a server that went away) cannot be deleted: nothing is left of it.
      this.log.info(
        {
          component: 'appium-session',
          device: this.device.id,
          session: browser.sessionId,
          err: this.scrub(err),
        },
        `deleting the Appium session of ${this.device.id} failed: ${this.scrub(err)}`,
      );
    }
  }

  async close(): Promise<void> {
    await this.kill();
  }
}
