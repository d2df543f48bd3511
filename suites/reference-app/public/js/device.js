// How the app learns what it runs on, the way production TV apps do: codec support from MSE probes,
// layout from the window, model/firmware/memory/HDR from the platform's UA token.

const PROBES = {
  h264: 'video/mp4; codecs="avc1.640028"',
  hevc: 'video/mp4; codecs="hvc1.1.6.L153.B0"',
  av1: 'video/mp4; codecs="av01.0.12M.10"',
  vp9: 'video/webm; codecs="vp09.00.50.08"',
};

const RESOLUTIONS = ['480p', '720p', '1080p', '1440p', '2160p'];

export function parseToken(ua) {
  const match = /DevlabDevice\/[\d.]+ \(([^)]*)\)/.exec(ua);
  if (!match) return null;
  const fields = {};
  for (const part of match[1].split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return fields;
}

function probe(type) {
  // MSE is what adaptive streaming uses; canPlayType answers for progressive playback only.
  try {
    if (window.MediaSource) return MediaSource.isTypeSupported(type) === true;
    return document.createElement('video').canPlayType(type) === 'probably';
  } catch {
    return false;
  }
}

function resolutionFromScreen() {
  const h = Math.round(window.screen.height * (window.devicePixelRatio || 1));
  if (h >= 2160) return '2160p';
  if (h >= 1440) return '1440p';
  if (h >= 1080) return '1080p';
  if (h >= 720) return '720p';
  return '480p';
}

/** Compares dotted firmware versions numerically: '6.10' > '6.5'. */
export function compareVersions(a, b) {
  const pa = String(a)
    .split('.')
    .map((n) => Number.parseInt(n, 10) || 0);
  const pb = String(b)
    .split('.')
    .map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function resolutionRank(res) {
  return RESOLUTIONS.indexOf(res);
}

export function detectDevice() {
  const token = parseToken(navigator.userAgent);
  const layout = window.innerWidth <= 1280 ? 'compact' : 'full';
  if (!token) {
    // An ordinary desktop browser: assume the baseline every desktop Chrome decodes.
    return {
      token: false,
      model: 'desktop',
      platform: 'desktop',
      firmware: '',
      resolution: resolutionFromScreen(),
      codecs: ['h264', 'vp9'],
      hdr: [],
      memoryMb: 4096,
      input: 'pointer',
      layout,
    };
  }
  const hdr = !token.hdr || token.hdr === 'none' ? [] : token.hdr.split('+').filter(Boolean);
  const mem = Number.parseInt(token.mem ?? '', 10);
  return {
    token: true,
    model: token.model ?? 'unknown',
    platform: token.platform ?? 'unknown',
    firmware: token.fw ?? '',
    resolution: RESOLUTIONS.includes(token.res) ? token.res : resolutionFromScreen(),
    codecs: Object.keys(PROBES).filter((codec) => probe(PROBES[codec])),
    hdr,
    memoryMb: Number.isFinite(mem) && mem > 0 ? mem : 1024,
    input: token.input ?? 'dpad',
    layout,
  };
}

/**
 * A CPU benchmark, as 1 = a healthy device. It runs ~30 ms on one: Chromium throttles in time slices, and
 * a shorter run can fit in one unthrottled slice and make a slow device look fast.
 */
export function measureCpuFactor() {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < 2000000; i++) sink += Math.sqrt(i) % 7;
  const ms = performance.now() - t0;
  window.__perfSink = sink;
  return Math.max(1, Math.round((ms / REFERENCE_BENCH_MS) * 10) / 10);
}

const REFERENCE_BENCH_MS = 30;
