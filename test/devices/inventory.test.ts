import { describe, expect, it } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { DRIVER_KINDS } from '../../devices/device.ts';
import { DriverRegistry } from '../../devices/driver.ts';
import { DEFAULT_INVENTORY, loadInventory, parseInventory } from '../../devices/inventory/load.ts';
import { InventoryError } from '../../devices/inventory/inventory-error.ts';
import { redactDevice } from '../../devices/inventory/secrets.ts';
import { redact, scrubSecrets, secretValues } from '../../devices/redact.ts';
import {
  deviceUserAgent,
  parseDeviceUserAgent,
  windowSizeFor,
} from '../../devices/reference-lab/user-agent.ts';

const VALID_DEVICE = `
  - id: tv-1
    name: TV one
    driver: appium
    model: M1
    platform: tizen
    os: Tizen 7
    firmware: "1.0.0"
    host: agent-a
    capabilities:
      codecs: [h264]
      resolution: 1080p
      memoryMb: 1024
      input: [dpad]
    settings:
      server: http://127.0.0.1:4723
      capabilities: { platformName: tizen, appium:accessKey: s3cr3t }
`;

function errorOf(fn: () => unknown): InventoryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InventoryError) return err;
    throw err;
  }
  throw new Error('expected an InventoryError');
}

describe('reference inventory', () => {
  const devices = loadInventory(DEFAULT_INVENTORY);

  it('wires appium, browser and docker devices', () => {
    const by = (k: string) => devices.filter((d) => d.driver === k).length;
    expect(by('appium')).toBeGreaterThanOrEqual(8);
    expect(by('browser')).toBe(2);
    expect(by('docker')).toBeGreaterThanOrEqual(2);
  });

  it('announces each appium device with a user agent matching its record and a window per resolution', () => {
    for (const d of devices.filter((x) => x.driver === 'appium')) {
      const emulation = d.settings['emulation'] as { userAgent: string; windowSize: { width: number } };
      expect(emulation.userAgent, d.id).toBe(deviceUserAgent(d));
      expect(emulation.windowSize, d.id).toEqual(windowSizeFor(d.capabilities.resolution));
      expect(parseDeviceUserAgent(emulation.userAgent)?.['res']).toBe(d.capabilities.resolution);
    }
  });
});

describe('inventory validation', () => {
  it('accepts a valid entry and applies driver defaults', () => {
    const [device] = parseInventory(`devices:${VALID_DEVICE}`, 'inv.yaml');
    expect(device?.settings['sessionReuse']).toBe('reuse');
  });

  it('names file, device, field and line:column of a bad capability', () => {
    const text = `devices:${VALID_DEVICE.replace('resolution: 1080p', 'resolution: 1081p')}`;
    const err = errorOf(() => parseInventory(text, 'lab.yaml'));
    expect(err.issues).toHaveLength(1);
    const issue = err.issues[0]!;
    expect(issue).toMatchObject({
      file: 'lab.yaml',
      deviceId: 'tv-1',
      index: 0,
      field: 'capabilities.resolution',
    });
    expect(issue.line).toBe(text.split('\n').findIndex((l) => l.includes('1081p')) + 1);
    expect(issue.column).toBe(19);
    expect(err.message).toContain(
      `lab.yaml:${issue.line}:19: device "tv-1" (#0) field "capabilities.resolution"`,
    );
  });

  it('validates driver settings with the driver schema and points into settings', () => {
    const text = `devices:${VALID_DEVICE.replace('http://127.0.0.1:4723', 'not a url')}`;
    const issue = errorOf(() => parseInventory(text, 'lab.yaml')).issues[0]!;
    expect(issue.field).toBe('settings.server');
    expect(issue.line).toBe(text.split('\n').findIndex((l) => l.includes('not a url')) + 1);
  });

  it('points a missing field at its entry and reports every bad entry', () => {
    const second = VALID_DEVICE.replace('id: tv-1', 'id: tv-2').replace('    model: M1\n', '');
    const third = VALID_DEVICE.replace('driver: appium', 'driver: roku');
    const err = errorOf(() => parseInventory(`devices:${VALID_DEVICE}${second}${third}`, 'lab.yaml'));
    expect(err.issues.map((i) => [i.index, i.field])).toEqual([
      [1, 'model'],
      [2, 'driver'],
    ]);
    expect(err.issues[0]!.deviceId).toBe('tv-2');
  });

  it('rejects duplicate ids and YAML syntax errors with positions', () => {
    const dup = errorOf(() => parseInventory(`devices:${VALID_DEVICE}${VALID_DEVICE}`, 'lab.yaml'));
    expect(dup.issues[0]).toMatchObject({ index: 1, field: 'id' });
    const syntax = errorOf(() => parseInventory('devices:\n  - id: [unclosed\n', 'bad.yaml'));
    expect(syntax.issues[0]).toMatchObject({ file: 'bad.yaml', field: '(yaml)' });
    expect(syntax.issues[0]!.line).toBeGreaterThan(0);
  });

  it('an Appium device without a server is driven through the configured local one; a named one is kept', () => {
    const local = VALID_DEVICE.replace('      server: http://127.0.0.1:4723\n', '');
    const named = VALID_DEVICE.replace('id: tv-1', 'id: tv-2').replace(':4723', ':4999');
    const text = `devices:${local}${named}`;
    const [own, other] = parseInventory(text, 'lab.yaml', { localAppiumUrl: 'http://127.0.0.1:4801' });
    expect(own?.settings['server']).toBe('http://127.0.0.1:4801');
    expect(other?.settings['server']).toBe('http://127.0.0.1:4999');
    // Without a config: the default local server (appium.port 4723).
    expect(parseInventory(text, 'lab.yaml')[0]?.settings['server']).toBe('http://127.0.0.1:4723');
    // The reference lab names none: its Appium devices follow DEVLAB_APPIUM_PORT.
    const reference = loadInventory(DEFAULT_INVENTORY, { localAppiumUrl: 'http://127.0.0.1:4801' });
    const appium = reference.filter((d) => d.driver === 'appium');
    expect(appium.length).toBeGreaterThan(0);
    for (const d of appium) expect(d.settings['server'], d.id).toBe('http://127.0.0.1:4801');
  });

  it('reports a missing file as an inventory error', () => {
    expect(errorOf(() => loadInventory('/nonexistent/inv.yaml')).issues[0]!.field).toBe('(file)');
  });
});

describe('redact', () => {
  it('hides secret capabilities and marked keys', () => {
    const [device] = parseInventory(`devices:${VALID_DEVICE}`, 'inv.yaml');
    const safe = redactDevice(device!);
    const caps = safe.settings['capabilities'] as Record<string, unknown>;
    expect(caps['appium:accessKey']).toBe('***');
    expect(caps['platformName']).toBe('tizen');
    expect(JSON.stringify(safe)).not.toContain('s3cr3t');
    expect(redact({ a: { deviceSerial: 'x' } }, ['deviceSerial'])).toEqual({ a: { deviceSerial: '***' } });
  });

  it('hides the credentials of URLs (a device cloud hub URL carries its access key) and scrubs them from text', () => {
    const settings = {
      server: 'https://lab-user:k3y-9f8e7d@hub.cloud.example/wd/hub',
      other: 'https://tok3n-abcdef@hub.example',
      plain: 'http://127.0.0.1:4723',
      note: 'see https://docs.example/a@b',
    };
    expect(redact(settings)).toEqual({
      server: 'https://***:***@hub.cloud.example/wd/hub',
      other: 'https://***@hub.example/',
      plain: 'http://127.0.0.1:4723',
      note: 'see https://docs.example/a@b',
    });
    const secrets = secretValues(settings);
    expect(secrets).toEqual(expect.arrayContaining(['k3y-9f8e7d', 'tok3n-abcdef']));
    expect(
      scrubSecrets('POST https://lab-user:k3y-9f8e7d@hub.cloud.example/wd/hub/session failed', secrets),
    ).toBe('POST https://***:***@hub.cloud.example/wd/hub/session failed');
  });
});

describe('driver registry', () => {
  it('maps every driver kind to its driver and validates settings with its schema', () => {
    const registry = createDriverRegistry();
    for (const kind of DRIVER_KINDS) expect(registry.get(kind).kind).toBe(kind);
    const docker = registry.get('docker').settingsSchema.safeParse({ image: 'x', network: 'bridge' });
    expect(docker.success).toBe(false);
    expect(() => new DriverRegistry().get('appium')).toThrow('No driver registered for kind "appium"');
  });
});
