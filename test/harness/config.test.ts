import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/config/config-error.ts';
import { loadConfig } from '../../harness/config/config.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'devlab-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('has loopback defaults and a data dir under the checkout', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.appium.port).toBe(4723);
    expect(config.home.endsWith('.devlab')).toBe(true);
  });

  it('layers file then environment; env wins and numbers are coerced', () => {
    const file = path.join(dir, 'lab.yaml');
    writeFileSync(file, 'redisUrl: redis://127.0.0.1:6390\nappium:\n  port: 4800\nhome: data\n');
    const config = loadConfig({ file, env: { DEVLAB_APPIUM_PORT: '4801' }, cwd: dir });
    expect(config.redisUrl).toBe('redis://127.0.0.1:6390');
    expect(config.appium.port).toBe(4801);
    expect(config.appium.host).toBe('127.0.0.1');
    expect(config.home).toBe(path.join(dir, 'data'));
  });

  it('reads booleans and the Redis prefix from the environment', () => {
    expect(loadConfig({ env: { DEVLAB_API_AUTH: 'true' }, cwd: dir }).api.auth).toBe(true);
    expect(loadConfig({ env: { DEVLAB_API_AUTH: 'false' }, cwd: dir }).api.auth).toBe(false);
    expect(loadConfig({ env: { DEVLAB_REDIS_PREFIX: 'lab-2' }, cwd: dir }).redisPrefix).toBe('lab-2');
    expect(() => loadConfig({ env: { DEVLAB_REDIS_PREFIX: 'a:b' }, cwd: dir })).toThrow(
      /DEVLAB_REDIS_PREFIX/,
    );
  });

  it('names the environment variable and field of a bad value', () => {
    expect(() => loadConfig({ env: { DEVLAB_APPIUM_PORT: 'eighty' }, cwd: dir })).toThrow(
      /environment variable DEVLAB_APPIUM_PORT, field "appium.port"/,
    );
    expect(() => loadConfig({ env: { DEVLAB_REDIS_URL: 'localhost:6379' }, cwd: dir })).toThrow(
      /DEVLAB_REDIS_URL.*redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('names the file and field of a bad value, and rejects unknown keys', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'api:\n  port: 99999\n');
    const err = (() => {
      try {
        loadConfig({ file, env: {}, cwd: dir });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).source).toBe(file);
    expect((err as ConfigError).field).toBe('api.port');
    writeFileSync(file, 'redisUrll: redis://x\n');
    expect(() => loadConfig({ file, env: {}, cwd: dir })).toThrow(/redisUrll/);
  });

  it('reports a missing or unparsable file', () => {
    expect(() => loadConfig({ file: path.join(dir, 'nope.yaml'), env: {}, cwd: dir })).toThrow(
      /file not found/,
    );
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'api: [1, 2\n');
    expect(() => loadConfig({ file, env: {}, cwd: dir })).toThrow(ConfigError);
  });
});
