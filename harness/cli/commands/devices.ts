import os from 'node:os';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { connectProbe } from '../../queue/redis-probe.ts';
import type { DeviceRecord, DeviceState } from '../../../devices/device.ts';
import { DockerDriver } from '../../../devices/docker/docker-driver.ts';
import { healthCheck } from '../../../devices/health/checks.ts';
import { InventoryError } from '../../../devices/inventory/inventory-error.ts';
import { DEFAULT_INVENTORY, loadInventory } from '../../../devices/inventory/load.ts';
import { redactDevice } from '../../../devices/inventory/secrets.ts';
import { redact, redactText } from '../../../devices/redact.ts';
import { REFERENCE_IMAGE_SPECS } from '../../../devices/reference-lab/images/stb-reference.ts';
import { type LiveStatus, liveStatus } from '../../../devices/state/live-status.ts';
import { DeviceStateStore } from '../../../devices/state/state-store.ts';
import { TransitionError } from '../../../devices/state/transitions.ts';
import { configSchema, loadConfig } from '../../config/config.ts';
import { localAppiumUrl } from '../../config/local-appium.ts';
import { labKeys } from '../../queue/names.ts';
import { type Reservation, ReservationStore } from '../../webdriver/reservation-store.ts';
import { registerReservationCommands } from './device-reservations.ts';

interface CommonOptions {
  inventory?: string;
  prefix?: string;
}

/**
 * The Redis key prefix of device states and leases (`<prefix>:`): `--prefix`, else the configured lab's
 * (`redisPrefix`, DEVLAB_REDIS_PREFIX), built by the same `labKeys` as the server's and agents'. A prefix
 * given with its colon (`hA:`) is the same lab as without; null after saying why the prefix is invalid.
 */
function keyPrefix(options: CommonOptions): string | null {
  const prefix = options.prefix === undefined ? loadConfig().redisPrefix : options.prefix.replace(/:$/, '');
  const checked = configSchema.shape.redisPrefix.safeParse(prefix);
  if (!checked.success) {
    process.stderr.write(`devlab: --prefix "${options.prefix}": ${checked.error.issues[0]!.message}\n`);
    process.exitCode = 2;
    return null;
  }
  return labKeys(checked.data).keyPrefix;
}

/** The inventory, or null after printing its errors (file:line:column per problem). */
function inventory(options: CommonOptions): DeviceRecord[] | null {
  try {
    const config = loadConfig();
    return loadInventory(options.inventory ?? config.inventory ?? DEFAULT_INVENTORY, {
      localAppiumUrl: localAppiumUrl(config),
    });
  } catch (err) {
    if (!(err instanceof InventoryError)) throw err;
    process.stderr.write(`devlab: ${err.message}\n`);
    process.exitCode = 2;
    return null;
  }
}

/**
 * Connects to the configured Redis, or says on stderr why it could not (live states are shown without
 * it) and returns null.
 */
async function connectRedis(): Promise<Redis | null> {
  const url = loadConfig().redisUrl;
  let redis: Redis | undefined;
  try {
    redis = await connectProbe(url, 1500);
    await redis.ping();
    return redis;
  } catch (err) {
    process.stderr.write(
      `devlab: Redis at ${redactText(url)} did not answer (${redactText((err as Error).message)}); device states live there\n`,
    );
    redis?.disconnect();
    return null;
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

async function list(options: CommonOptions & { json?: boolean }): Promise<void> {
  const prefix = keyPrefix(options);
  const devices = prefix === null ? null : inventory(options);
  if (!devices || prefix === null) return;
  const redis = await connectRedis();
  let live: Map<string, LiveStatus> | null = null;
  let reserved = new Map<string, Reservation>();
  try {
    if (redis) {
      live = new Map((await liveStatus(redis, devices, prefix)).map((s) => [s.deviceId, s]));
      // The reservations kept beside the leases (labKeys of the same prefix, its colon off).
      const store = new ReservationStore(redis, labKeys(prefix.slice(0, -1)), (id, why) =>
        process.stderr.write(`devlab: reservation ${id} is unreadable (${why}); left out\n`),
      );
      reserved = new Map((await store.active()).map((r) => [r.deviceId, r]));
    }
  } finally {
    redis?.disconnect();
  }
  if (options.json) {
    // The whole line is redacted: settings by key and URL, and the live reason (a health failure's message).
    const out = devices.map((d) => {
      const r = reserved.get(d.id);
      return {
        ...redactDevice(d),
        live: redact(live?.get(d.id) ?? null),
        ...(r ? { reservation: { partner: r.partner, until: r.until } } : {}),
      };
    });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const rows = [['ID', 'DRIVER', 'MODEL', 'PLATFORM', 'RES', 'HOST', 'STATE', 'HOLDER / REASON']];
  for (const d of devices) {
    const s = live?.get(d.id);
    const r = reserved.get(d.id);
    const note = r
      ? `reserved by ${r.partner} until ${new Date(r.until).toISOString()}`
      : s
        ? redactText(s.holder ?? s.reason)
        : '';
    rows.push([
      d.id,
      d.driver,
      d.model,
      d.platform,
      d.capabilities.resolution,
      d.host,
      s?.state ?? '?',
      note,
    ]);
  }
  process.stdout.write(table(rows));
  if (!live) process.stderr.write('note: Redis is not reachable, live state unknown\n');
}

async function check(id: string | undefined, options: CommonOptions & { quick?: boolean }): Promise<void> {
  const devices = inventory(options);
  if (!devices) return;
  const selected = id ? devices.filter((d) => d.id === id) : devices;
  if (selected.length === 0) {
    process.stderr.write(`devlab: no device "${id}" in the inventory\n`);
    process.exitCode = 2;
    return;
  }
  const run = healthCheck({
    appiumStatusOnly: options.quick ?? false,
    // Devices that name no socket are on the configured engine (DEVLAB_DOCKER_SOCKET).
    docker: new DockerDriver({ imageSpecs: REFERENCE_IMAGE_SPECS, socket: loadConfig().dockerSocket }),
  });
  let failed = 0;
  // One at a time: a lab's Appium server and engine are shared, and lines come out in inventory order.
  for (const device of selected) {
    const r = await run(device);
    if (!r.ok) failed++;
    const line = `${r.ok ? 'ok  ' : 'FAIL'}  ${device.id.padEnd(18)} ${device.driver.padEnd(7)} ${redactText(r.message)} (${Math.round(r.durationMs)} ms)`;
    process.stdout.write(`${line}\n`);
  }
  if (failed > 0) process.exitCode = 1;
}

async function move(
  id: string,
  to: DeviceState,
  options: CommonOptions & { reason?: string },
): Promise<void> {
  const prefix = keyPrefix(options);
  const devices = prefix === null ? null : inventory(options);
  if (!devices || prefix === null) return;
  if (!devices.some((d) => d.id === id)) {
    process.stderr.write(`devlab: no device "${id}" in the inventory\n`);
    process.exitCode = 2;
    return;
  }
  const redis = await connectRedis();
  if (!redis) {
    process.exitCode = 1;
    return;
  }
  try {
    const store = new DeviceStateStore(redis, { prefix });
    const reason = options.reason ?? (to === 'available' ? 'unblocked' : '');
    const record = await store.transition(id, to, reason, `cli:${os.userInfo().username}`);
    process.stdout.write(`${id}: ${record.from} → ${record.to} (${record.reason})\n`);
  } catch (err) {
    if (!(err instanceof TransitionError)) throw err;
    process.stderr.write(`devlab: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    redis.disconnect();
  }
}

/** `devlab devices list|check|block|unblock|drain`, and `reserve|reservations|release` (reservations through the API). */
export function registerDevicesCommands(program: Command): void {
  const devices = program
    .command('devices')
    .description('the device inventory, live state, health and reservations');
  const common = (cmd: Command): Command =>
    cmd
      .option(
        '--inventory <file>',
        'inventory YAML (default: inventory of the config, else devices/inventory.yaml)',
      )
      .option(
        '--prefix <prefix>',
        "the lab's Redis key prefix (default: the configured one, DEVLAB_REDIS_PREFIX, else devlab)",
      );

  common(devices.command('list').description('list devices with their live state'))
    .option('--json', 'print JSON (secrets redacted)')
    .action(list);

  common(devices.command('check [id]').description('run health checks, one line per device'))
    .option('--quick', 'Appium: /status only, no session probe')
    .action(check);

  common(devices.command('block <id>').description('take a device out of service (manual)'))
    .requiredOption('--reason <text>', 'why, for the transition log')
    .action((id: string, o: CommonOptions & { reason: string }) => move(id, 'blocked', o));

  common(devices.command('unblock <id>').description('return a blocked or drained device to service'))
    .option('--reason <text>', 'why, for the transition log')
    .action((id: string, o: CommonOptions & { reason?: string }) => move(id, 'available', o));

  common(devices.command('drain <id>').description('finish running work, then accept no new leases'))
    .requiredOption('--reason <text>', 'why, for the transition log')
    .action((id: string, o: CommonOptions & { reason: string }) => move(id, 'draining', o));

  registerReservationCommands(devices);
}
