import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Capabilities } from '../../devices/capabilities.ts';
import type { DeviceRecord } from '../../devices/device.ts';

/** An emulated lab device, set up the way the reference lab does it: UA token, viewport, codec probes. */
export interface LabProfile {
  id: string;
  model: string;
  platform: string;
  firmware: string;
  capabilities: Capabilities;
  viewport: { width: number; height: number };
}

function profile(
  id: string,
  platform: string,
  firmware: string,
  capabilities: Omit<Capabilities, 'drm' | 'input'>,
  viewport: { width: number; height: number },
): LabProfile {
  return {
    id,
    model: id,
    platform,
    firmware,
    capabilities: { ...capabilities, drm: {}, input: ['dpad'] },
    viewport,
  };
}

/** 4K, every codec, Dolby Vision, plenty of memory, current firmware: no defect should hit it. */
export const HEALTHY = profile(
  'ref-4k-flagship',
  'tizen',
  '7.2',
  { codecs: ['h264', 'hevc', 'av1'], hdr: ['hdr10', 'dolby-vision'], resolution: '2160p', memoryMb: 3072 },
  { width: 1920, height: 1080 },
);

/** 720p, H.264 only, HDR10 panel, 768 MB, Tizen 6.0: D1, D2, D4 and D5 hit it. */
export const BUDGET = profile(
  'ref-720-budget',
  'tizen',
  '6.0',
  { codecs: ['h264'], hdr: ['hdr10'], resolution: '720p', memoryMb: 768 },
  { width: 1280, height: 720 },
);

/** 4K with HEVC and AV1 but HDR10 only and 1.5 GB: D6 and D7 hit it. */
export const MIDRANGE = profile(
  'ref-4k-midrange',
  'webos',
  '5.1',
  { codecs: ['h264', 'hevc', 'av1'], hdr: ['hdr10'], resolution: '2160p', memoryMb: 1536 },
  { width: 1920, height: 1080 },
);

export function userAgentFor(p: LabProfile): string {
  const c = p.capabilities;
  const hdr = c.hdr.length ? c.hdr.join('+') : 'none';
  return (
    `Mozilla/5.0 (Linux; ${p.platform}) AppleWebKit/537.36 Chrome/156 DevlabDevice/1.0 ` +
    `(model=${p.model}; platform=${p.platform}; fw=${p.firmware}; res=${c.resolution}; ` +
    `codecs=${c.codecs.join('+')}; hdr=${hdr}; mem=${c.memoryMb}; input=${c.input[0]})`
  );
}

export function deviceRecordFor(p: LabProfile): DeviceRecord {
  return {
    id: `lab-${p.id}`,
    name: p.id,
    driver: 'browser',
    model: p.model,
    platform: p.platform,
    os: p.platform,
    firmware: p.firmware,
    capabilities: p.capabilities,
    host: 'localhost',
    tags: ['reference-lab'],
    settings: {},
  };
}

// Kept as source text: tsx/esbuild would wrap inner functions of a transpiled callback in a `__name`
// helper that does not exist in the page. Plain assignment is ignored for these built-ins, hence defineProperty.
const CODEC_PROBE_OVERRIDE = `function (codecs) {
  var marks = { h264: ['avc1', 'avc3'], hevc: ['hvc1', 'hev1'], av1: ['av01'], vp9: ['vp09'] };
  function supported(type) {
    return codecs.some(function (c) { return (marks[c] || []).some(function (m) { return String(type).indexOf(m) >= 0; }); });
  }
  Object.defineProperty(MediaSource, 'isTypeSupported', { value: supported, configurable: true });
  Object.defineProperty(HTMLMediaElement.prototype, 'canPlayType', {
    value: function (type) { return supported(type) ? 'probably' : ''; },
    configurable: true,
  });
}`;

/** A browser context that looks like the device: UA, viewport and MSE codec answers per profile. */
export async function newDeviceContext(browser: Browser, p: LabProfile): Promise<BrowserContext> {
  const context = await browser.newContext({ userAgent: userAgentFor(p), viewport: p.viewport });
  await context.addInitScript({
    content: `(${CODEC_PROBE_OVERRIDE})(${JSON.stringify(p.capabilities.codecs)});`,
  });
  return context;
}

export async function newDevicePage(browser: Browser, p: LabProfile): Promise<Page> {
  return (await newDeviceContext(browser, p)).newPage();
}
