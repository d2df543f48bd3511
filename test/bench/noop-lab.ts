import { z } from 'zod';
import type { DeviceRecord } from '../../devices/device.ts';
import { type DeviceDriver, DriverRegistry, type Session } from '../../devices/driver.ts';
import { defineTest } from '../../suites/define-test.ts';
import type { TestDefinition } from '../../suites/test-api.ts';

/** A device whose sessions run a body at once: measures the harness, not a device. */
export class InstantDriver implements DeviceDriver {
  readonly kind = 'browser' as const;
  readonly settingsSchema = z.unknown();
  async openSession(device: DeviceRecord): Promise<Session> {
    return {
      device,
      run: async (body) => {
        const t = performance.now();
        await body({});
        return { status: 'passed', artifacts: [], durationMs: performance.now() - t };
      },
      captureArtifacts: async () => [],
      reset: async () => {},
      close: async () => {},
    };
  }
}

export const instantRegistry = (): DriverRegistry => new DriverRegistry().register(new InstantDriver());

/** `devices` interchangeable no-op devices owned by one agent (`host`). */
export function noopInventory(devices: number, host: string): DeviceRecord[] {
  return Array.from({ length: devices }, (_, i) => ({
    id: `bench-noop-${i}`,
    name: `noop ${i}`,
    driver: 'browser',
    model: `bench-noop-${i}`,
    platform: 'bench',
    os: 'bench',
    firmware: '1',
    capabilities: { codecs: [], hdr: [], drm: {}, resolution: '1080p', memoryMb: 1024, input: ['pointer'] },
    host,
    tags: [],
    settings: {},
  }));
}

/** `count` tests whose body does nothing. */
export function noopTests(count: number): TestDefinition[] {
  return Array.from({ length: count }, (_, i) =>
    defineTest(
      { id: `bench.noop-${i}`, title: 'noop', component: 'bench', owner: 'bench', tags: ['noop'] },
      async () => {},
    ),
  );
}
