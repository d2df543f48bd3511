import { seededRandom } from '../model/hash.ts';

export type Rng = () => number;

export interface DeviceModelSpec {
  name: string;
  os: string;
  hevc: boolean;
  hdr: boolean;
  /** Firmware versions in release order; index 0 is installed at the start. */
  firmwares: string[];
}

export interface DeviceSpec {
  id: string;
  model: DeviceModelSpec;
  speed: number;
  /** Cycle the device joins the lab. */
  joins: number;
}

export interface TestSpec {
  id: string;
  component: string;
  needsHevc: boolean;
  needsHdr: boolean;
  baseDurationS: number;
  /** Probability of a spurious failure on any run. */
  flakiness: number;
  /** Cycle the test is added to the catalog. */
  added: number;
  /**
   * The code the test exercises: its own component and 0-2 others it does not declare (a player test
   * that also goes through drm and network). `sensitivity`: the chance that a regression in that
   * component breaks this test.
   */
  depends: { component: string; sensitivity: number }[];
}

export const COMPONENTS = ['player', 'drm', 'ui', 'network', 'subtitles', 'ads', 'epg', 'audio'] as const;

const MODELS: Omit<DeviceModelSpec, 'firmwares'>[] = [
  { name: 'stb-a1', os: 'android-tv', hevc: true, hdr: true },
  { name: 'stb-a2', os: 'android-tv', hevc: false, hdr: false },
  { name: 'tv-s9', os: 'tizen', hevc: true, hdr: true },
  { name: 'tv-s7', os: 'tizen', hevc: true, hdr: false },
  { name: 'tv-l5', os: 'webos', hevc: true, hdr: true },
  { name: 'stick-r3', os: 'roku', hevc: false, hdr: false },
  { name: 'box-t4', os: 'tvos', hevc: true, hdr: true },
  { name: 'stick-f2', os: 'fire-os', hevc: false, hdr: true },
];

/** Standard normal sample (Box-Muller). */
export function gaussian(rnd: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

export function pick<T>(rnd: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

export interface World {
  models: DeviceModelSpec[];
  devices: DeviceSpec[];
  tests: TestSpec[];
  /** Per component, the two device models with platform-specific code in it (where its regressions often show). */
  platformModels: Map<string, string[]>;
}

/** The lab's devices and tests, some present from the start and some joining over `cycles`. */
export function buildWorld(seed: number, cycles: number): World {
  const rnd = seededRandom(seed ^ 0x5eed);
  const models = MODELS.map((m, i) => ({
    ...m,
    firmwares: Array.from({ length: 6 }, (_, v) => `${3 + (i % 3)}.${v}`),
  }));
  const devices: DeviceSpec[] = [];
  for (const m of models) {
    const n = 2 + Math.floor(rnd() * 2);
    for (let k = 0; k < n; k++)
      devices.push({ id: `${m.name}-${k + 1}`, model: m, speed: 0.8 + rnd() * 0.7, joins: 0 });
  }
  for (let j = 0; j < Math.max(1, Math.floor(cycles / 40)); j++) {
    const m = pick(rnd, models);
    devices.push({
      id: `${m.name}-n${j + 1}`,
      model: m,
      speed: 0.8 + rnd() * 0.7,
      joins: Math.floor((0.2 + 0.7 * rnd()) * cycles),
    });
  }
  const tests: TestSpec[] = [];
  const total = 100;
  for (let i = 0; i < total; i++) {
    const component = pick(rnd, COMPONENTS);
    const playback = component === 'player' || component === 'drm';
    tests.push({
      id: `${component}/test_${String(i + 1).padStart(3, '0')}`,
      component,
      needsHevc: playback && rnd() < 0.3,
      needsHdr: playback && rnd() < 0.15,
      baseDurationS: Math.min(900, Math.exp(3.2 + 1.0 * gaussian(rnd))),
      flakiness: rnd() < 0.1 ? 0.05 + rnd() * 0.15 : 0,
      added: i < 70 ? 0 : Math.floor(rnd() * cycles * 0.9),
      depends: [],
    });
  }
  // Drawn after the tests, so that the rest of the world is what it was before changes were modelled.
  for (const t of tests) {
    t.depends.push({ component: t.component, sensitivity: 0.15 + 0.35 * rnd() });
    const hidden = rnd() < 0.4 ? 0 : rnd() < 0.67 ? 1 : 2;
    for (let h = 0; h < hidden; h++) {
      const other = pick(rnd, COMPONENTS);
      if (t.depends.some((d) => d.component === other)) continue;
      t.depends.push({ component: other, sensitivity: 0.1 + 0.3 * rnd() });
    }
  }
  const platformModels = new Map<string, string[]>();
  for (const c of COMPONENTS) {
    const names = [...models.map((m) => m.name)].sort(() => rnd() - 0.5);
    platformModels.set(c, names.slice(0, 2).sort());
  }
  return { models, devices, tests, platformModels };
}
