import { describe, expect, it } from 'vitest';
import { hubCommandUrl, hubEndpoint } from '../../devices/appium/hub-url.ts';
import { errorInfo } from '../../devices/errors.ts';
import {
  redact,
  redactStrings,
  redactText,
  redactUrl,
  scrubSecrets,
  secretValues,
} from '../../devices/redact.ts';

const KEY = 'SECRET-HUB-KEY-123';
const HUB = `http://devlab:${KEY}@127.0.0.1:4723/wd/hub`;

describe('redactUrl: one URL through the URL class', () => {
  it('masks user and password, keeps scheme, host, port and path', () => {
    expect(redactUrl(HUB)).toBe('http://***:***@127.0.0.1:4723/wd/hub');
    expect(redactUrl(`https://tok3n-abcdef@hub.example:443/x`)).toBe('https://***@hub.example/x');
    expect(redactUrl('redis://:p4ss@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0');
    expect(redactUrl('http://us%40er:k%2Fy@h/')).toBe('http://***:***@h/');
  });

  it('gives back a URL without credentials, and any other text, as it was', () => {
    expect(redactUrl('http://127.0.0.1:4723')).toBe('http://127.0.0.1:4723');
    expect(redactUrl('mailto:qa@lab.example')).toBe('mailto:qa@lab.example');
    expect(redactUrl('not a url')).toBe('not a url');
    // Not one URL: the text scan masks what it quotes.
    expect(redactUrl(`session on ${HUB} failed`)).toBe(
      'session on http://***:***@127.0.0.1:4723/wd/hub failed',
    );
  });
});

describe('redactText: every URL in free text, in one pass', () => {
  it('masks the credentials of every URL quoted in a message, nothing else', () => {
    const message = `TypeError: Request cannot be constructed from a URL that includes credentials: ${HUB}/status`;
    expect(redactText(message)).toBe(
      'TypeError: Request cannot be constructed from a URL that includes credentials: http://***:***@127.0.0.1:4723/wd/hub/status',
    );
    expect(redactText(`a ${HUB} b https://t0ken@x.example c`)).toBe(
      'a http://***:***@127.0.0.1:4723/wd/hub b https://***@x.example c',
    );
    for (const plain of [
      'see https://docs.example/a@b',
      'mail qa@lab.example about http://127.0.0.1:4723',
      'no url at all',
      '',
      'ends with ://',
      'x://',
    ])
      expect(redactText(plain)).toBe(plain);
  });

  it('finds URLs in JSON, quotes, brackets and after one another', () => {
    expect(redactText(JSON.stringify({ server: HUB, n: 1 }))).toBe(
      '{"server":"http://***:***@127.0.0.1:4723/wd/hub","n":1}',
    );
    expect(redactText(`'${HUB}' <${HUB}> (${HUB})`)).not.toContain(KEY);
    // A URL whose authority ends where the next `://` begins.
    expect(redactText(`http://a://u:${KEY}@h/`)).toBe('http://a://***:***@h/');
    expect(redactText(`http://u:${KEY}@h:1http://v:${KEY}@h:2`)).not.toContain(KEY);
    // The last `@` of the authority ends the credentials, as the URL parser has it.
    expect(redactText(`http://u:p@ss@h/`)).toBe('http://***:***@h/');
  });

  it('runs in linear time on hostile input (no backtracking)', () => {
    const inputs = [
      '://'.repeat(200_000),
      `http://${'a'.repeat(600_000)}`,
      `http://${'@'.repeat(600_000)}`,
      `${'http://a:b@'.repeat(60_000)}`,
      `${'x:/'.repeat(200_000)}`,
    ];
    for (const input of inputs) {
      const started = performance.now();
      redactText(input);
      expect(performance.now() - started).toBeLessThan(500);
    }
    expect(redactText('http://a:b@'.repeat(3))).toBe('http://***:***@http://***:***@http://***:***@');
  });
});

describe('redact and redactStrings: deep copies for output', () => {
  it('redact hides secret keys and URL credentials anywhere', () => {
    const device = {
      settings: { server: HUB, capabilities: { 'cloud:accessKey': 'abcd1234' } },
      note: `on ${HUB}`,
    };
    const safe = redact(device);
    expect(JSON.stringify(safe)).not.toContain(KEY);
    expect(safe.settings.server).toBe('http://***:***@127.0.0.1:4723/wd/hub');
    expect(safe.settings.capabilities['cloud:accessKey']).toBe('***');
    expect(device.settings.server).toBe(HUB); // a copy
  });

  it('redactStrings masks texts and leaves keys and other values alone', () => {
    const report = { token: 'not-a-secret-here', error: { message: `on ${HUB}` }, attempt: 2, ok: true };
    expect(redactStrings(report)).toEqual({
      token: 'not-a-secret-here',
      error: { message: 'on http://***:***@127.0.0.1:4723/wd/hub' },
      attempt: 2,
      ok: true,
    });
  });

  it('secretValues lists the key, decoded too, and its Basic token; scrubSecrets masks them and URLs', () => {
    const secrets = secretValues({ server: 'http://devlab:k%2Fy-123@h/' });
    const basic = Buffer.from('devlab:k/y-123').toString('base64');
    expect(secrets).toEqual(expect.arrayContaining(['k%2Fy-123', 'k/y-123', basic]));
    expect(scrubSecrets(`echo k/y-123 ${basic} http://devlab:k%2Fy-123@h/`, secrets)).toBe(
      'echo *** *** http://***:***@h/',
    );
  });

  it('errorInfo masks a request error quoting the URL it was sent to', () => {
    const err = new TypeError(`Request cannot be constructed from a URL that includes credentials: ${HUB}`);
    const info = errorInfo(err);
    expect(info.message).not.toContain(KEY);
    expect(info.stack).not.toContain(KEY);
    expect(info.message).toContain('http://***:***@127.0.0.1:4723/wd/hub');
  });
});

describe('hubEndpoint: credentials out of the URL, into a Basic header', () => {
  it('splits user and key, decoded, from the URL', () => {
    const hub = hubEndpoint('https://us%40er:k%2Fy@hub.example:4444/wd/hub');
    expect(hub.url.href).toBe('https://hub.example:4444/wd/hub');
    expect(hub.user).toBe('us@er');
    expect(hub.key).toBe('k/y');
    expect(hub.authorization).toBe(`Basic ${Buffer.from('us@er:k/y').toString('base64')}`);
    expect(hub.display).toBe('https://***:***@hub.example:4444/wd/hub');
    expect(hubCommandUrl(hub, 'status').href).toBe('https://hub.example:4444/wd/hub/status');
  });

  it('a URL without credentials has no header; status is under the root path', () => {
    const hub = hubEndpoint('http://127.0.0.1:4723');
    expect(hub.authorization).toBeNull();
    expect(hub.display).toBe('http://127.0.0.1:4723');
    expect(hubCommandUrl(hub, 'status').href).toBe('http://127.0.0.1:4723/status');
    expect(hubCommandUrl(hubEndpoint('http://h:1/wd/hub//'), 'status').href).toBe('http://h:1/wd/hub/status');
  });
});
