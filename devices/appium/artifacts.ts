import type { Browser as WdioBrowser } from 'webdriverio';
import type { Artifact } from '../device.ts';
import { withTimeout } from '../run-body.ts';

/**
 * Screenshot, page source and browser/driver logs, each bounded in time: a hung session must not hang
 * the capture. Whatever the session cannot give is skipped.
 */
export async function captureWebdriverArtifacts(browser: WdioBrowser, timeoutMs = 5000): Promise<Artifact[]> {
  const out: Artifact[] = [];
  const attempt = async (fn: () => Promise<Artifact | null>): Promise<void> => {
    try {
      const artifact = await withTimeout(fn(), timeoutMs, 'artifact capture');
      if (artifact) out.push(artifact);
    } catch {
      // The session may be gone; the artifacts it can still give are kept.
    }
  };
  await attempt(async () => ({
    name: 'screenshot.png',
    contentType: 'image/png',
    data: Buffer.from(await browser.takeScreenshot(), 'base64'),
  }));
  await attempt(async () => ({
    name: 'page-source.html',
    contentType: 'text/html',
    data: Buffer.from(await browser.getPageSource(), 'utf8'),
  }));
  await attempt(async () => {
    const logs = await browser.getLogs('browser');
    return {
      name: 'browser-log.json',
      contentType: 'application/json',
      data: Buffer.from(JSON.stringify(logs)),
    };
  });
  return out;
}
