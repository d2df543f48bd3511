import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerDevicesCommands } from '../../harness/cli/commands/devices.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { scanKeys } from '../support/redis-keys.ts';
import { cleanKeys, DEVICES_TEST_PREFIX, newRedis } from '../support/redis-keys.ts';
import { redisUp, requireService } from '../support/services.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// A lab prefix as the config writes it (no colon): the CLI builds the keys as the server and agents do.
const prefix = `${DEVICES_TEST_PREFIX.replace(/:$/, '')}-cli`;
/** The lab whose prefix only DEVLAB_REDIS_PREFIX names. */
const envPrefix = `${prefix}-env`;
const up = await requireService('Redis', redisUp);

/** Runs `devlab devices ...` in-process (the full CLI loads every command; this one is enough here). */
async function devlab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('devlab').exitOverride();
  registerDevicesCommands(program);
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => {
    stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'devlab', 'devices', ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

describe.skipIf(!up)('devlab devices (CLI)', () => {
  afterAll(async () => {
    const redis = newRedis();
    await cleanKeys(redis, `${prefix}:`);
    await cleanKeys(redis, `${envPrefix}:`);
    redis.disconnect();
  });

  it('blocks with a reason, shows it in the list, refuses a bad move, unblocks', async () => {
    expect(
      (await devlab('block', 'webos-tv', '--reason', 'HDMI port dead', '--prefix', prefix)).stdout,
    ).toContain('webos-tv: available → blocked (HDMI port dead)');
    const listed = await devlab('list', '--prefix', prefix);
    expect(listed.stdout).toMatch(/webos-tv .* blocked\s+HDMI port dead/);
    const drain = await devlab('drain', 'webos-tv', '--reason', 'x', '--prefix', prefix);
    expect(drain.code).toBe(1);
    expect(drain.stderr).toContain('cannot go from blocked to draining');
    expect((await devlab('unblock', 'webos-tv', '--prefix', prefix)).code).toBe(0);
    const json = JSON.parse((await devlab('list', '--json', '--prefix', prefix)).stdout) as Array<{
      id: string;
      live: { state: string };
    }>;
    expect(json.find((d) => d.id === 'webos-tv')?.live.state).toBe('available');
  });

  it('reports inventory errors with file:line:column and checks one device', async () => {
    const bad = await devlab(
      'list',
      '--inventory',
      path.join(ROOT, 'test/devices/fixtures/bad-inventory.yaml'),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /bad-inventory\.yaml:\d+:\d+: device "tv-bad" \(#0\) field "capabilities\.memoryMb"/,
    );
    const check = await devlab('check', 'stb-ref-r1');
    expect(check.stdout).toMatch(/^ok\s+stb-ref-r1\s+docker\s+engine up/);
  });

  it('writes and reads the configured lab (DEVLAB_REDIS_PREFIX), and --prefix with or without its colon, as the server does', async () => {
    const redis = newRedis();
    const saved = process.env['DEVLAB_REDIS_PREFIX'];
    const otherLab = await redis.dump('devlab:device:webos-tv');
    try {
      process.env['DEVLAB_REDIS_PREFIX'] = envPrefix;
      expect((await devlab('block', 'webos-tv', '--reason', 'env lab')).stdout).toContain(
        'available → blocked',
      );
      // The key the control plane of that lab reads (labKeys(config.redisPrefix)), not the default lab's.
      const states = new DeviceStateStore(redis, { prefix: labKeys(envPrefix).keyPrefix });
      expect((await states.get('webos-tv'))?.state).toBe('blocked');
      expect(await redis.dump('devlab:device:webos-tv')).toEqual(otherLab);
      expect((await devlab('list')).stdout).toMatch(/webos-tv .* blocked\s+env lab/);
      // `--prefix X:` is the same lab as `--prefix X`; neither writes `Xdevice:...`.
      expect((await devlab('unblock', 'webos-tv', '--prefix', `${envPrefix}:`)).code).toBe(0);
      expect((await states.get('webos-tv'))?.state).toBe('available');
      await devlab('drain', 'webos-tv', '--reason', 'r', '--prefix', envPrefix);
      expect((await states.get('webos-tv'))?.state).toBe('draining');
      expect(await scanKeys(redis, `${envPrefix}device*`)).toEqual([]);
      const bad = await devlab('list', '--prefix', 'two words');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--prefix "two words": letters, digits, _ and -');
    } finally {
      if (saved === undefined) delete process.env['DEVLAB_REDIS_PREFIX'];
      else process.env['DEVLAB_REDIS_PREFIX'] = saved;
      redis.disconnect();
    }
  });
});
