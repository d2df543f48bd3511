import { describe, expect, it } from 'vitest';
import { filterTests } from '../../suites/query/query.ts';
import { HISTORY_ACCESSOR, TESTS } from './fixtures/query-fixtures.ts';

const HEVC = 'player.hevc-4k';
const H264 = 'player.h264-basic';
const AUTH = 'auth.login';
const BOOT = 'stb.conformance.boot';
const HDR = 'player.hdr-any';

function ids(query: string): string[] {
  return filterTests(TESTS, query, { history: HISTORY_ACCESSOR })
    .map((t) => t.id)
    .sort();
}

const cases: [string, string[]][] = [
  // id: `:` is case-insensitive and globs, `=` is exact
  ['id:player.*', [HEVC, H264, HDR]],
  ['id=auth.login', [AUTH]],
  ['id:AUTH.LOGIN', [AUTH]],
  ['id=AUTH.LOGIN', []],
  ['id!=auth.login', [HEVC, H264, BOOT, HDR]],
  ['id:?uth.login', [AUTH]],
  ['id="player.*"', []],
  // title: regex, quoted strings, globs
  ['title:/hevc/i', [HEVC]],
  ['title:/hevc/', []],
  ['title:"Play H.264 basic"', [H264]],
  ["title:'Login with password'", [AUTH]],
  ['title:play*', [HEVC, H264]],
  ['title>Play', [HEVC, H264, BOOT]],
  // tags (list: contains) and the tag alias
  ['tags:smoke', [HEVC, H264]],
  ['tag:smoke', [HEVC, H264]],
  ['TAG:SMOKE', [HEVC, H264]],
  ['tags=playback', [HEVC, H264]],
  ['tags!=smoke', [AUTH, BOOT, HDR]],
  ['tags:4?', [HEVC]],
  ['tags:/^con/', [BOOT]],
  ['tags in [auth, stb]', [AUTH, BOOT]],
  ['component:player', [HEVC, H264, HDR]],
  ['component=platform-boot', [BOOT]],
  ['owner:team-*', [HEVC, H264, AUTH, HDR]],
  // priority: numbers and every ordering operator
  ['priority:1', [AUTH]],
  ['priority=3', [HEVC]],
  ['priority!=2', [HEVC, AUTH, BOOT]],
  ['priority<1', [BOOT]],
  ['priority<=1', [AUTH, BOOT]],
  ['priority>2', [HEVC]],
  ['priority>=2', [HEVC, H264, HDR]],
  ['priority in [0, 3]', [HEVC, BOOT]],
  ['suite:samples/*', [HEVC, H264, AUTH, HDR]],
  ['suite=conformance', [BOOT]],
  ['suite:/samples\\/player/', [HEVC, H264, HDR]],
  // requirements
  ['requires.codecs:hevc', [HEVC, HDR]],
  ['requires.codecs in [av1, h264]', [H264, HDR]],
  ['requires.hdr:true', [HEVC, HDR]],
  ['requires.hdr:false', [H264, AUTH, BOOT]],
  ['requires.hdr:dolby-vision', [HEVC]],
  ['requires.minResolution>=1080p', [HEVC, HDR]],
  ['requires.minResolution=2160p', [HEVC]],
  ['requires.minResolution<2160p', [HDR]],
  ['requires.drm:widevine', [HEVC]],
  ['requires.drm:playready', [HDR]],
  ['requires.drm!=widevine', [H264, AUTH, BOOT, HDR]],
  ['requires.input:touch', [AUTH]],
  ['requires.drivers:docker', [BOOT]],
  ['requires.drivers:browser', [H264, AUTH]],
  ['requires.minMemoryMb>=1024', [HEVC]],
  ['requires.minMemoryMb<1024', [BOOT]],
  // history fields through the accessor
  ['flaky:true', [HEVC]],
  ['flaky=false', [H264, BOOT, HDR]],
  ['not flaky:true', [H264, AUTH, BOOT, HDR]],
  ['last_verdict:failed', [HEVC]],
  ['last_verdict in [error, skipped]', [BOOT, HDR]],
  ['failrate>0.2', [HEVC, BOOT]],
  ['failrate<=0.1', [H264, HDR]],
  ['failrate>=.25', [HEVC, BOOT]],
  ['failrate[device=tv-4k-01]>0.2', [HEVC]],
  ['failrate[device=tv-4k-01]<0.2', [H264]],
  ['failrate[model=QN90]>=0.6', [HEVC]],
  ['failed_in_last:1', [HEVC, BOOT]],
  ['failed_in_last:4', [HEVC, H264, BOOT]],
  // boolean structure, precedence, keywords in any case, implicit and, line breaks
  ['', [HEVC, H264, AUTH, BOOT, HDR]],
  ['tag:auth or tag:smoke and priority=3', [HEVC, AUTH]],
  ['(tag:auth or tag:smoke) and priority>=2', [HEVC, H264]],
  ['component:player priority>=3', [HEVC]],
  ['TAG:smoke AND NOT priority=3', [H264]],
  ['not (component:player or component:auth)', [BOOT]],
  ['not not tag:auth', [AUTH]],
  ['tag:smoke\n  and priority=3', [HEVC]],
  ['id in [auth.*, stb.*]', [AUTH, BOOT]],
];

describe('test query fields and operators', () => {
  it.each(cases)('%s', (query, expected) => {
    expect(ids(query)).toEqual([...expected].sort());
  });

  it('reads history fields as absent when no accessor is given', () => {
    expect(filterTests(TESTS, 'flaky:true or failrate>=0 or failed_in_last:5')).toEqual([]);
    expect(filterTests(TESTS, 'not flaky:true')).toHaveLength(TESTS.length);
  });

  it('treats a missing requirement as no match, and `!=` on it as a match', () => {
    expect(ids('requires.minMemoryMb=256')).toEqual([BOOT]);
    expect(ids('requires.minMemoryMb!=256')).toEqual([HEVC, H264, AUTH, HDR].sort());
  });

  it('evaluates very long and/or chains without deep recursion', () => {
    const chain = (op: string, term: string) => Array.from({ length: 20_000 }, () => term).join(` ${op} `);
    expect(ids(chain('and', 'priority>=0'))).toHaveLength(TESTS.length);
    expect(ids(`${chain('or', 'tag:none')} or tag:auth`)).toEqual([AUTH]);
  });
});
