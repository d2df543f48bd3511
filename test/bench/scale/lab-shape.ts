import { rng } from '../makespan.ts';

/**
 * The shape of the busy lab the scale benchmark seeds: 500 container tests over 20 components, and 40
 * set-top-box/TV containers (8 models × 5 firmwares on 3 platforms), each its own planner pool so that a
 * run of every test on every device is 500 × 40 = 20,000 jobs. Pure data, deterministic.
 */
export const TEST_COUNT = 500;
export const PARTNERS = ['partner-a', 'partner-b', 'default'] as const;
export const COMPONENTS = [
  'home',
  'search',
  'player',
  'playback-abr',
  'playback-drm',
  'subtitles',
  'audio-tracks',
  'epg',
  'settings',
  'parental',
  'login',
  'profiles',
  'recordings',
  'downloads',
  'ads',
  'analytics',
  'accessibility',
  'deeplinks',
  'network',
  'boot',
] as const;

export interface ScaleTest {
  id: string;
  title: string;
  component: string;
  owner: string;
  tags: string[];
  priority: number;
  timeoutMs: number;
  retries: number;
}

export interface ScaleModel {
  model: string;
  platform: string;
  os: string;
  firmwares: string[];
  resolution: '720p' | '1080p' | '2160p';
  memoryMb: number;
  codecs: string[];
}

export interface ScaleDevice {
  id: string;
  model: ScaleModel;
  firmware: string;
  host: string;
}

const fw = (base: string): string[] => [0, 1, 2, 3, 4].map((i) => `${base}.${10 + i}`);

export const MODELS: readonly ScaleModel[] = [
  {
    model: 'AUR-55X7',
    platform: 'auroraos',
    os: 'AuroraOS 5',
    firmwares: fw('5.2'),
    resolution: '2160p',
    memoryMb: 3072,
    codecs: ['h264', 'hevc', 'av1'],
  },
  {
    model: 'AUR-65X9',
    platform: 'auroraos',
    os: 'AuroraOS 5',
    firmwares: fw('5.3'),
    resolution: '2160p',
    memoryMb: 4096,
    codecs: ['h264', 'hevc', 'av1', 'vp9'],
  },
  {
    model: 'AUR-43L2',
    platform: 'auroraos',
    os: 'AuroraOS 4',
    firmwares: fw('4.8'),
    resolution: '1080p',
    memoryMb: 1536,
    codecs: ['h264', 'hevc'],
  },
  {
    model: 'STK-HD1',
    platform: 'streamos',
    os: 'StreamOS 3',
    firmwares: fw('3.1'),
    resolution: '1080p',
    memoryMb: 1024,
    codecs: ['h264'],
  },
  {
    model: 'STK-4K2',
    platform: 'streamos',
    os: 'StreamOS 4',
    firmwares: fw('4.0'),
    resolution: '2160p',
    memoryMb: 1536,
    codecs: ['h264', 'hevc', 'vp9'],
  },
  {
    model: 'STK-MAX',
    platform: 'streamos',
    os: 'StreamOS 4',
    firmwares: fw('4.1'),
    resolution: '2160p',
    memoryMb: 2048,
    codecs: ['h264', 'hevc', 'vp9', 'av1'],
  },
  {
    model: 'STB-R1',
    platform: 'stblinux',
    os: 'STB Linux 2',
    firmwares: fw('2.3'),
    resolution: '2160p',
    memoryMb: 2048,
    codecs: ['h264', 'hevc'],
  },
  {
    model: 'BSTB-720',
    platform: 'stblinux',
    os: 'STB Linux 2',
    firmwares: fw('2.4'),
    resolution: '720p',
    memoryMb: 512,
    codecs: ['h264'],
  },
];

/** 500 tests: ids `scale.<component>.<n>`, about 8 % tagged smoke, priorities and timeouts varied. */
export function scaleTests(): ScaleTest[] {
  const random = rng(500);
  return Array.from({ length: TEST_COUNT }, (_, i) => {
    const component = COMPONENTS[i % COMPONENTS.length]!;
    const smoke = i % 12 === 0;
    const tags = [component.split('-')[0]!, ...(smoke ? ['smoke'] : []), ...(random() < 0.2 ? ['slow'] : [])];
    return {
      id: `scale.${component}.t${String(i).padStart(3, '0')}`,
      title: `${component} check ${i}`,
      component,
      owner: `team-${component.split('-')[0]}`,
      tags,
      priority: smoke ? 3 : Math.floor(random() * 3),
      timeoutMs: [60_000, 120_000, 300_000][Math.floor(random() * 3)]!,
      retries: random() < 0.3 ? 1 : 0,
    };
  });
}

/** 40 devices: each model on each of its 5 firmwares, split over two agent hosts. */
export function scaleDevices(): ScaleDevice[] {
  return MODELS.flatMap((model, m) =>
    model.firmwares.map((firmware, f) => ({
      id: `${model.model.toLowerCase()}-fw${f}`,
      model,
      firmware,
      host: (m + f) % 2 === 0 ? 'agent-a' : 'agent-b',
    })),
  );
}
