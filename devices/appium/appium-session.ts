import { remote } from 'webdriverio';
import type { Browser as WdioBrowser } from 'webdriverio';
import type { Artifact, DeviceRecord } from '../device.ts';
import type { RunOptions, RunResult, Session, TestBodyFn } from '../driver.ts';
import { errorInfo, InfrastructureError } from '../errors.ts';
import { scrubSecrets, secretValues } from '../redact.ts';
import { runBody, withTimeout } from '../run-body.ts';
import { captureWebdriverArtifacts } from './artifacts.ts';
import { cdp } from './cdp.ts';
import { applyEmulation, capabilitiesWithEmulation } from './emulation.ts';
import { withChromedriverPort } from './free-port.ts';
import { hubEndpoint, hubHeaders } from './hub-url.ts';
import { resetScript } from './reset-script.ts';
import type { AppiumSettings } from './settings.ts';

const KILL_TIMEOUT_MS = 5000;
/** A WebdriverIO session on an Appium server; reused across tests or fresh per test, per the settings. */
export class AppiumSession implements Session {
  private browser: WdioBrowser | null = null;
  /** A test ran since the last reset. */
  private dirty = false;

  constructor(
    readonly device: DeviceRecord,
    private readonly settings: AppiumSettings,
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
          ...(await withChromedriverPort(
            capabilitiesWithEmulation(this.settings.capabilities, this.settings.emulation),
          )),
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
      if (this.browser && this.dirty) await this.reset();
      browser = this.browser ?? (await this.connect());
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
    if (browser) await withTimeout(browser.deleteSession(), KILL_TIMEOUT_MS, 'deleteSession').catch(() => {});
  }

  async close(): Promise<void> {
    await this.kill();
  }
}
