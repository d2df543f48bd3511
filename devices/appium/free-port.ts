import getPort from 'get-port';

/**
 * A loopback port free right now (the OS picks it; `get-port` checks it on 127.0.0.1 only, and does not
 * hand the same port to another caller of this process for a while).
 */
export function freePort(): Promise<number> {
  return getPort({ host: '127.0.0.1' });
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
