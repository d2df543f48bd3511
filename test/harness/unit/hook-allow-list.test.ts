import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../harness/config/config.ts';
import { ConfigError } from '../../../harness/config/config-error.ts';
import { checkHookUrl, hostAllowed } from '../../../harness/hooks/allow-list.ts';
import { signBody, verifySignature } from '../../../harness/hooks/signature.ts';

describe('hook targets and signatures', () => {
  const loopback = ['127.0.0.1', '::1', 'localhost'];

  it('allows exact hosts and addresses, and *.domain for subdomains only', () => {
    expect(hostAllowed('127.0.0.1', loopback)).toBe(true);
    expect(hostAllowed('[::1]', loopback)).toBe(true);
    expect(hostAllowed('LOCALHOST.', loopback)).toBe(true);
    expect(hostAllowed('127.0.0.2', loopback)).toBe(false);
    expect(hostAllowed('localhost.evil.com', loopback)).toBe(false);
    const ci = ['*.ci.example.com', 'hooks.example.org'];
    expect(hostAllowed('jenkins.ci.example.com', ci)).toBe(true);
    expect(hostAllowed('ci.example.com', ci)).toBe(false);
    expect(hostAllowed('evilci.example.com', ci)).toBe(false);
    expect(hostAllowed('hooks.example.org', ci)).toBe(true);
    expect(hostAllowed('x.hooks.example.org', ci)).toBe(false);
  });

  it('refuses other schemes, credentials in the URL and hosts off the list, naming `url`', () => {
    expect(checkHookUrl('http://127.0.0.1:8080/hook', loopback).port).toBe('8080');
    for (const [url, why] of [
      ['ftp://127.0.0.1/x', 'only http and https'],
      ['http://u:p@127.0.0.1/x', 'credentials'],
      ['https://example.com/x', 'host example.com is not on'],
      ['http://0x7f000001/x', 'host 127.0.0.1'], // normalized by the URL parser, then allowed
      ['not a url', 'not a valid absolute URL'],
    ] as const) {
      if (url === 'http://0x7f000001/x') {
        expect(checkHookUrl(url, loopback).hostname).toBe('127.0.0.1');
        continue;
      }
      expect(() => checkHookUrl(url, loopback)).toThrow(why);
      try {
        checkHookUrl(url, loopback);
      } catch (err) {
        expect((err as { field: string }).field).toBe('url');
      }
    }
  });

  it('signs like GitHub (sha256=<hex> of the raw body) and verifies in constant time', () => {
    const sig = signBody('s3cret', '{"a":1}');
    expect(sig).toBe(`sha256=${createHmac('sha256', 's3cret').update('{"a":1}').digest('hex')}`);
    expect(verifySignature('s3cret', '{"a":1}', sig)).toBe(true);
    expect(verifySignature('s3cret', '{"a":2}', sig)).toBe(false);
    expect(verifySignature('other', '{"a":1}', sig)).toBe(false);
    expect(verifySignature('s3cret', '{"a":1}', undefined)).toBe(false);
    expect(verifySignature('s3cret', '{"a":1}', 'sha256=00')).toBe(false);
  });

  it('reads the allow-list and backoff from the environment, loopback by default', () => {
    const base = { DEVLAB_HOME: '/tmp/devlab-hooks-config' };
    expect(loadConfig({ env: base, cwd: '/tmp' }).hooks.allowHosts).toEqual(loopback);
    const config = loadConfig({
      env: {
        ...base,
        DEVLAB_HOOKS_ALLOW_HOSTS: ' ci.example.com, *.hooks.example.org ',
        DEVLAB_HOOKS_BACKOFF_MS: '250',
      },
      cwd: '/tmp',
    });
    expect(config.hooks.allowHosts).toEqual(['ci.example.com', '*.hooks.example.org']);
    expect(config.hooks.backoffMs).toBe(250);
    expect(() =>
      loadConfig({ env: { ...base, DEVLAB_HOOKS_ALLOW_HOSTS: 'http://x/' }, cwd: '/tmp' }),
    ).toThrow(ConfigError);
  });
});
