import { compareVersions } from '../device.js';

function seconds(stamp) {
  const parts = stamp.trim().split(':').map(Number);
  if (parts.length < 2 || parts.length > 3 || parts.some((n) => !Number.isFinite(n))) {
    throw new Error(`SUB-2001 bad cue timestamp "${stamp}"`);
  }
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

function cueBlocks(vtt) {
  if (!vtt.startsWith('WEBVTT')) throw new Error('SUB-2000 not a WebVTT file');
  return vtt
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/))
    .filter((lines) => lines.some((l) => l.includes('-->')));
}

/** WebVTT cues as {start, end, text}; accepts mm:ss.mmm and hh:mm:ss.mmm stamps. */
export function parseVtt(vtt) {
  return cueBlocks(vtt).map((lines) => {
    const at = lines.findIndex((l) => l.includes('-->'));
    const [from, to] = lines[at].split('-->');
    return {
      start: seconds(from),
      end: seconds(to.trim().split(/\s+/)[0]),
      text: lines.slice(at + 1).join('\n'),
    };
  });
}

// Written for Tizen firmware before 6.5, whose TextTrack rendering dropped cues after a seek.
function parseVttLegacy(vtt) {
  return cueBlocks(vtt).map((lines) => {
    const at = lines.findIndex((l) => l.includes('-->'));
    // DEFECT D4 (DEFECTS.md): assumes mm:ss.mmm; the packager's hh:mm:ss.mmm stamps are rejected.
    const match = /^(\d\d):(\d\d\.\d+) --> (\d\d):(\d\d\.\d+)/.exec(lines[at]);
    if (!match) throw new Error(`SUB-2001 bad cue timestamp "${lines[at]}"`);
    const [, m1, s1, m2, s2] = match;
    return {
      start: Number(m1) * 60 + Number(s1),
      end: Number(m2) * 60 + Number(s2),
      text: lines.slice(at + 1).join('\n'),
    };
  });
}

/** The cue parser this device uses: the app's own legacy renderer on old Tizen firmware. */
export function parserFor(device) {
  const legacy =
    device.platform === 'tizen' && device.firmware && compareVersions(device.firmware, '6.5') < 0;
  return legacy ? { name: 'legacy', parse: parseVttLegacy } : { name: 'standard', parse: parseVtt };
}
