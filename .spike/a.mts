import { AppiumServer } from '../devices/appium/appium-server.ts';
import { remote } from 'webdriverio';
import http from 'node:http';
const srv = http.createServer((q, r) => { r.setHeader('content-type','text/html'); r.end('<button id=b onclick="document.getElementById(\'o\').textContent=\'clicked\'">go</button><p id=o>idle</p>'); });
await new Promise<void>(r => srv.listen(0, '127.0.0.1', () => r()));
const port = (srv.address() as any).port;
let t = Date.now();
const a = await new AppiumServer({ host: '127.0.0.1', port: 4723, appiumHome: '/work/main', logFile: '/tmp/appium.log' }).start();
console.log('appium up', Date.now() - t); t = Date.now();
const b = await remote({ hostname: '127.0.0.1', port: 4723, logLevel: 'warn', capabilities: {
  browserName: 'chrome', platformName: 'linux', 'appium:automationName': 'Chromium', 'appium:executable': '/usr/bin/chromedriver',
  'goog:chromeOptions': { binary: '/usr/bin/chromium', args: ['--headless=new','--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] } } as any });
console.log('session', Date.now() - t); t = Date.now();
await b.url(`http://127.0.0.1:${port}/`);
await (await b.$('#b')).click();
console.log(await (await b.$('#o')).getText(), Date.now() - t);
const s = await b.takeScreenshot(); console.log('shot', s.length);
await b.deleteSession(); await a.stop(); srv.close();
