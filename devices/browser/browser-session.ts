import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import type { Artifact, DeviceRecord } from '../device.ts';
import type { RunOptions, RunResult, Session, TestBodyFn } from '../driver.ts';
import { errorInfo } from '../errors.ts';
import { runBody, withTimeout } from '../run-body.ts';

/** One Chromium per session, one fresh context (cookies, storage, emulation) per test. */
export class BrowserSession implements Session {
  private context: BrowserContext | null = null;
  private page: Page | null = null;
  private consoleLog: string[] = [];

  constructor(
    readonly device: DeviceRecord,
    private readonly browser: Browser,
    private readonly contextOptions: BrowserContextOptions,
  ) {}

  async run(body: TestBodyFn, options: RunOptions): Promise<RunResult> {
    const started = performance.now();
    let page: Page;
    try {
      await this.reset();
      this.context = await this.browser.newContext(this.contextOptions);
      page = await this.context.newPage();
      this.page = page;
      this.consoleLog = [];
      page.on('console', (m) => this.consoleLog.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => this.consoleLog.push(`[pageerror] ${e.message}`));
    } catch (err) {
      return { status: 'error', error: errorInfo(err, 'infrastructure'), artifacts: [], durationMs: 0 };
    }
    const outcome = await runBody(body, { page }, options);
    const artifacts = outcome.status === 'passed' ? [] : await this.captureArtifacts();
    await this.reset().catch(() => {});
    return { ...outcome, artifacts, durationMs: performance.now() - started };
  }

  async captureArtifacts(): Promise<Artifact[]> {
    const page = this.page;
    if (!page) return [];
    const out: Artifact[] = [];
    try {
      out.push({
        name: 'screenshot.png',
        contentType: 'image/png',
        data: await page.screenshot({ timeout: 5000 }),
      });
      const html = await withTimeout(page.content(), 5000, 'page.content');
      out.push({ name: 'page-source.html', contentType: 'text/html', data: Buffer.from(html) });
    } catch {
      // A crashed page gives what it can.
    }
    out.push({
      name: 'console.log',
      contentType: 'text/plain',
      data: Buffer.from(this.consoleLog.join('\n')),
    });
    return out;
  }

  async reset(): Promise<void> {
    const context = this.context;
    this.context = null;
    this.page = null;
    if (context) await context.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.reset();
    await this.browser.close().catch(() => {});
  }
}
