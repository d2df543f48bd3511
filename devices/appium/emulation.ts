import type { Browser as WdioBrowser } from 'webdriverio';
import type { DeviceRecord } from '../device.ts';
import { cdp } from './cdp.ts';
import { mediaProbeScript } from './media-probe-script.ts';
import type { Emulation } from './settings.ts';

type Caps = Record<string, unknown>;

/** Chromium flags for what must be set before the browser starts: user agent and window size. */
export function emulationArgs(emulation: Emulation | undefined): string[] {
  if (!emulation) return [];
  const args: string[] = [];
  if (emulation.userAgent) args.push(`--user-agent=${emulation.userAgent}`);
  if (emulation.windowSize)
    args.push(`--window-size=${emulation.windowSize.width},${emulation.windowSize.height}`);
  return args;
}

/** The device's capabilities with the emulation flags added to `goog:chromeOptions.args`. */
export function capabilitiesWithEmulation(capabilities: Caps, emulation: Emulation | undefined): Caps {
  const extra = emulationArgs(emulation);
  if (extra.length === 0) return capabilities;
  const options = (capabilities['goog:chromeOptions'] ?? {}) as Caps;
  const flags = new Set(extra.map((a) => a.split('=')[0]));
  const kept = ((options['args'] ?? []) as string[]).filter((a) => !flags.has(a.split('=')[0]));
  return { ...capabilities, 'goog:chromeOptions': { ...options, args: [...kept, ...extra] } };
}

/** What must be set through DevTools once the session exists: CPU throttling and media probes. */
export async function applyEmulation(
  browser: WdioBrowser,
  device: DeviceRecord,
  emulation: Emulation | undefined,
): Promise<void> {
  if (!emulation) return;
  if (emulation.cpuThrottling && emulation.cpuThrottling > 1) {
    await cdp(browser, 'Emulation.setCPUThrottlingRate', { rate: emulation.cpuThrottling });
  }
  if (emulation.mediaProbes) {
    const source = mediaProbeScript({
      codecs: emulation.codecs ?? device.capabilities.codecs,
      hdr: emulation.hdr ?? device.capabilities.hdr,
    });
    await cdp(browser, 'Page.addScriptToEvaluateOnNewDocument', { source });
  }
}
