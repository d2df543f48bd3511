import type { Capabilities, Resolution } from '../capabilities.ts';
import type { DeviceRecord } from '../device.ts';

/**
 * The user agent a reference device announces itself with: a Chromium-like prefix that web apps parse as
 * usual, plus a DevlabDevice token carrying the facts a TV app would otherwise query from platform APIs.
 */
export function deviceUserAgent(
  device: Pick<DeviceRecord, 'model' | 'platform' | 'firmware' | 'capabilities'>,
): string {
  const caps: Capabilities = device.capabilities;
  const tokens = [
    `model=${device.model}`,
    `platform=${device.platform}`,
    `fw=${device.firmware}`,
    `res=${caps.resolution}`,
    `codecs=${caps.codecs.join('+') || 'none'}`,
    `hdr=${caps.hdr.join('+') || 'none'}`,
    `mem=${caps.memoryMb}`,
    `input=${caps.input.join('+')}`,
  ];
  return `Mozilla/5.0 (Linux; ${device.platform}) AppleWebKit/537.36 Chrome/156 DevlabDevice/1.0 (${tokens.join('; ')})`;
}

/** CSS window size per resolution; 1440p and 2160p panels render web apps at 1080p and upscale. */
export function windowSizeFor(resolution: Resolution): { width: number; height: number } {
  switch (resolution) {
    case '480p':
      return { width: 854, height: 480 };
    case '720p':
      return { width: 1280, height: 720 };
    default:
      return { width: 1920, height: 1080 };
  }
}

/** Parses the DevlabDevice token back into key → value (what the reference app does on its side). */
export function parseDeviceUserAgent(userAgent: string): Record<string, string> | null {
  const m = /DevlabDevice\/1\.0 \(([^)]*)\)/.exec(userAgent);
  if (!m?.[1]) return null;
  const out: Record<string, string> = {};
  for (const part of m[1].split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key) out[key] = rest.join('=');
  }
  return out;
}
