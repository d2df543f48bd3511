import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import {
  explainIneligible,
  isEligible,
  type RequiringTest,
  unmetRequirements,
} from '../../suites/requirements.ts';
import type { Requirements } from '../../suites/test-api.ts';

function device(id: string, driver: DeviceRecord['driver'], caps: Partial<DeviceRecord['capabilities']>) {
  return {
    id,
    driver,
    capabilities: {
      codecs: [],
      hdr: [],
      drm: {},
      resolution: '1080p' as const,
      memoryMb: 2048,
      input: ['dpad' as const],
      ...caps,
    },
  };
}

const tv4k = device('tv-4k-01', 'appium', {
  codecs: ['h264', 'hevc'],
  hdr: ['hdr10'],
  drm: { widevine: 'L1', playready: 'SL3000' },
  resolution: '2160p',
  memoryMb: 3072,
});
const tvHd = device('tv-hd-02', 'appium', { codecs: ['h264'], drm: { widevine: 'L3', playready: 'SL2000' } });
const chrome = device('chrome-01', 'browser', {
  codecs: ['h264', 'vp9'],
  drm: { widevine: 'L3' },
  resolution: '1440p',
  input: ['pointer', 'touch'],
  memoryMb: 8192,
});

const test = (requires: Requirements): RequiringTest => ({ id: 't', requires });

describe('isEligible', () => {
  it.each([
    [{}, tvHd, true],
    [{ codecs: ['hevc'] }, tv4k, true],
    [{ codecs: ['hevc'] }, tvHd, false],
    [{ codecs: ['h264', 'vp9'] }, chrome, true],
    [{ hdr: true }, tv4k, true],
    [{ hdr: true }, tvHd, false],
    [{ hdr: ['dolby-vision', 'hdr10'] }, tv4k, true],
    [{ hdr: ['dolby-vision'] }, tv4k, false],
    [{ drm: { system: 'widevine' } }, chrome, true],
    [{ drm: { system: 'widevine', level: 'L1' } }, tv4k, true],
    [{ drm: { system: 'widevine', level: 'L1' } }, tvHd, false],
    [{ drm: { system: 'widevine', level: 'L3' } }, tv4k, true],
    [{ drm: { system: 'widevine', level: 'L2' } }, tvHd, false],
    [{ drm: { system: 'playready', level: 'SL2000' } }, tv4k, true],
    [{ drm: { system: 'playready', level: 'SL2000' } }, tvHd, true],
    [{ drm: { system: 'playready', level: 'SL3000' } }, tvHd, false],
    [{ drm: { system: 'playready' } }, chrome, false],
    [{ minResolution: '2160p' }, tv4k, true],
    [{ minResolution: '1440p' }, tvHd, false],
    [{ minResolution: '1440p' }, chrome, true],
    [{ minMemoryMb: 4096 }, chrome, true],
    [{ minMemoryMb: 4096 }, tv4k, false],
    [{ input: 'touch' }, chrome, true],
    [{ input: 'touch' }, tv4k, false],
    [{ drivers: ['browser'] }, chrome, true],
    [{ drivers: ['appium', 'docker'] }, chrome, false],
  ] as [Requirements, typeof tv4k, boolean][])('%j on %s', (requires, dev, expected) => {
    expect(isEligible(test(requires), dev)).toBe(expected);
    expect(unmetRequirements(test(requires), dev).length === 0).toBe(expected);
  });
});

describe('explainIneligible', () => {
  it('is null when some device is eligible', () => {
    expect(explainIneligible(test({ codecs: ['hevc'] }), [tvHd, tv4k])).toBeNull();
  });

  it('names a requirement no selected device meets', () => {
    const why = explainIneligible(test({ codecs: ['hevc'] }), [tvHd, chrome]);
    expect(why?.reasons).toEqual(['needs hevc; no selected device has it']);
    expect(why?.perDevice).toEqual({ 'tv-hd-02': ['hevc'], 'chrome-01': ['hevc'] });
  });

  it('lists every requirement that fails everywhere', () => {
    const why = explainIneligible(
      test({ drm: { system: 'widevine', level: 'L1' }, minResolution: '2160p', drivers: ['browser'] }),
      [tvHd, chrome],
    );
    expect(why?.reasons).toEqual([
      'needs widevine L1; no selected device has it',
      'needs 2160p; no selected device has it',
    ]);
  });

  it('explains requirements met only on different devices', () => {
    const why = explainIneligible(test({ codecs: ['vp9'], hdr: true }), [tv4k, chrome]);
    expect(why?.reasons).toEqual([
      'needs vp9 and HDR on one device; no selected device has all of them (tv-4k-01 lacks vp9; chrome-01 lacks HDR)',
    ]);
  });

  it('says so when no devices are selected', () => {
    expect(explainIneligible(test({}), [])?.reasons).toEqual(['no devices selected']);
  });

  it('phrases memory, input, resolution and driver needs', () => {
    const why = explainIneligible(
      test({ minMemoryMb: 16384, input: 'voice', minResolution: '1440p', drivers: ['docker'] }),
      [tvHd],
    );
    expect(why?.reasons).toEqual([
      'needs 1440p or better; no selected device has it',
      'needs 16384 MB of memory; no selected device has it',
      'needs voice input; no selected device has it',
      'needs a docker device; no selected device has it',
    ]);
  });
});
