// A plain WebdriverIO script, as a partner's suite would be: no devlab code, only the endpoint's address,
// the partner token as the URL's password (WebdriverIO's user/key) and capabilities. It opens APP_URL,
// prints one JSON line ({ sessionId, runId, title }), then deletes its session (MODE=complete) or just
// stays, sending nothing more, until it is killed (MODE=vanish).
import { remote } from 'webdriverio';

const env = process.env;
const browser = await remote({
  hostname: '127.0.0.1',
  port: Number(env.WD_PORT),
  path: '/wd/hub',
  user: env.WD_USER,
  key: env.WD_KEY,
  logLevel: 'error',
  connectionRetryCount: 0,
  capabilities: JSON.parse(env.WD_CAPABILITIES),
});
await browser.url(env.APP_URL);
const title = await browser.getTitle();
const line = { sessionId: browser.sessionId, runId: browser.capabilities['devlab:runId'], title };
process.stdout.write(`${JSON.stringify(line)}\n`);
if (env.MODE === 'vanish') setInterval(() => {}, 60_000);
else await browser.deleteSession();
