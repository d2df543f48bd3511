import { createServer } from 'node:net';

/** A loopback port free right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The chromium driver starts chromedriver on 9515 unless told otherwise and, before that, kills whatever
 * chromedriver runs with that port (`pkill -f chromedriver.*--port=9515`): concurrent sessions, on one
 * Appium server or several, would kill each other's. Each session gets its own port.
 */
export async function withChromedriverPort(caps: Record<string, unknown>): Promise<Record<string, unknown>> {
  const automation = String(caps['appium:automationName'] ?? '').toLowerCase();
  if (automation !== 'chromium' || caps['appium:chromedriverPort'] !== undefined) return caps;
  return { ...caps, 'appium:chromedriverPort': await freePort() };
}
