import { describe, expect, it } from 'vitest';
import { filterDevices } from '../../suites/query/query.ts';
import { DEVICES } from './fixtures/query-fixtures.ts';

const TV4K = 'tv-4k-01';
const TVHD = 'tv-hd-02';
const CHROME = 'chrome-01';
const STB = 'stb-01';

function ids(query: string): string[] {
  return filterDevices(DEVICES, query)
    .map((d) => d.id)
    .sort();
}

const cases: [string, string[]][] = [
  ['id:tv-*', [TV4K, TVHD]],
  ['name:"Bedroom TV"', [TVHD]],
  ['name:/desktop/i', [CHROME]],
  ['model=QN90', [TV4K]],
  ['platform:tizen', [TV4K, TVHD]],
  ['platform:linux*', [CHROME, STB]],
  // version-aware: 6.5 < 6.10, and T-KTMAKUC-1250.5 < T-KTMAKUC-1300.1 on their numeric parts
  ['os>6.5', [TVHD]],
  ['os<6.10', [TV4K, CHROME, STB]],
  ['os>=1.10.0', [TV4K, TVHD, STB]],
  ['os:6.*', [TV4K, TVHD]],
  ['firmware>=T-KTMAKUC-1300', [TVHD]],
  ['firmware<T-KTMAKUC-1300', [TV4K, CHROME, STB]],
  ['firmware<v2.0.0', [STB]],
  ['firmware=T-KTMAKUC-1250.5', [TV4K]],
  ['driver:appium', [TV4K, TVHD]],
  ['driver in [docker, browser]', [CHROME, STB]],
  ['tags:4k', [TV4K]],
  ['tag:stb', [STB]],
  ['caps.codecs:hevc', [TV4K, STB]],
  ['caps.codecs in [vp9, av1]', [TV4K, CHROME]],
  ['caps.codecs!=hevc', [TVHD, CHROME]],
  ['caps.hdr:dolby-vision', [TV4K]],
  ['caps.hdr:*', [TV4K, STB]],
  ['caps.drm:playready', [TV4K, STB]],
  ['caps.drm.widevine:L1', [TV4K]],
  ['caps.drm.widevine:l3', [TVHD, CHROME]],
  ['caps.drm.widevine>=L2', [TV4K]],
  // stronger is greater: L1 > L2 > L3
  ['caps.drm.widevine<=L3', [TVHD, CHROME]],
  ['caps.drm.widevine>=L3', [TV4K, TVHD, CHROME]],
  ['caps.drm.widevine<L1', [TVHD, CHROME]],
  ['caps.drm.playready>=SL2000', [TV4K, STB]],
  ['caps.drm.playready>SL2000', [TV4K]],
  ['caps.resolution>=1080p', [TV4K, TVHD, CHROME]],
  ['caps.resolution<1080p', [STB]],
  ['caps.resolution:1440p', [CHROME]],
  ['caps.resolution>1440p', [TV4K]],
  ['caps.resolution<=720p', [STB]],
  ['caps.memoryMb>2048', [TV4K, CHROME]],
  ['caps.memoryMb<=512', [STB]],
  ['caps.input:touch', [CHROME]],
  ['caps.input:dpad and caps.memoryMb<2048', [TVHD, STB]],
  ['state:available', [TV4K, CHROME]],
  ['state!=available', [TVHD, STB]],
  ['host=agent-b', [CHROME, STB]],
  ['caps.codecs:hevc and caps.resolution>=2160p and caps.drm.widevine>=L1', [TV4K]],
];

describe('device query fields and operators', () => {
  it.each(cases)('%s', (query, expected) => {
    expect(ids(query)).toEqual([...expected].sort());
  });

  it('never throws on records with missing or odd capabilities', () => {
    const odd = [
      { id: 'x' },
      { capabilities: null },
      { capabilities: { drm: 'nope', codecs: 'hevc' } },
      null,
    ] as never[];
    for (const query of [
      'caps.codecs:hevc',
      'caps.drm.widevine>=L2',
      'os>1',
      'caps.resolution>=720p',
      'state!=a',
    ]) {
      expect(() => filterDevices(odd, query)).not.toThrow();
    }
    expect(filterDevices(odd, 'caps.codecs:hevc')).toEqual([]);
  });
});
