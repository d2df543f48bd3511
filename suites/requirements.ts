import { RESOLUTIONS, resolutionRank } from '../devices/capabilities.ts';
import type { DeviceRecord } from '../devices/device.ts';
import { drmLevelSatisfies } from './drm-levels.ts';
import type { Requirements } from './test-api.ts';

/** What requirement matching reads from a test. */
export interface RequiringTest {
  id: string;
  requires: Requirements;
}

/** What requirement matching reads from a device. */
export type MatchableDevice = Pick<DeviceRecord, 'id' | 'driver' | 'capabilities'>;

/** One unmet requirement: `need` reads after "needs", e.g. "hevc", "widevine L1", "2160p or better". */
export interface UnmetRequirement {
  /** Stable key so reasons can be grouped across devices, e.g. `codec:hevc`. */
  key: string;
  need: string;
}

/** Every requirement of `test` that `device` does not meet; empty when eligible. */
export function unmetRequirements(test: RequiringTest, device: MatchableDevice): UnmetRequirement[] {
  const req = test.requires ?? {};
  const caps = device.capabilities;
  const unmet: UnmetRequirement[] = [];
  for (const codec of req.codecs ?? []) {
    if (!caps.codecs.includes(codec)) unmet.push({ key: `codec:${codec}`, need: codec });
  }
  if (req.hdr === true && caps.hdr.length === 0) unmet.push({ key: 'hdr', need: 'HDR' });
  if (Array.isArray(req.hdr) && req.hdr.length > 0 && !req.hdr.some((f) => caps.hdr.includes(f))) {
    unmet.push({ key: `hdr:${req.hdr.join('|')}`, need: `HDR (${req.hdr.join(' or ')})` });
  }
  if (req.drm !== undefined) {
    const { system, level } = req.drm;
    const have = caps.drm[system];
    const need = level === undefined ? system : `${system} ${level}`;
    if (have === undefined || (level !== undefined && !drmLevelSatisfies(system, have, level))) {
      unmet.push({ key: `drm:${need}`, need });
    }
  }
  if (
    req.minResolution !== undefined &&
    resolutionRank(caps.resolution) < resolutionRank(req.minResolution)
  ) {
    const best = req.minResolution === RESOLUTIONS[RESOLUTIONS.length - 1];
    unmet.push({
      key: `resolution:${req.minResolution}`,
      need: best ? req.minResolution : `${req.minResolution} or better`,
    });
  }
  if (req.minMemoryMb !== undefined && caps.memoryMb < req.minMemoryMb) {
    unmet.push({ key: `memory:${req.minMemoryMb}`, need: `${req.minMemoryMb} MB of memory` });
  }
  if (req.input !== undefined && !caps.input.includes(req.input)) {
    unmet.push({ key: `input:${req.input}`, need: `${req.input} input` });
  }
  if (req.drivers !== undefined && !req.drivers.includes(device.driver)) {
    unmet.push({ key: `driver:${req.drivers.join('|')}`, need: `a ${req.drivers.join(' or ')} device` });
  }
  return unmet;
}

export function isEligible(test: RequiringTest, device: MatchableDevice): boolean {
  return unmetRequirements(test, device).length === 0;
}

export interface IneligibilityExplanation {
  testId: string;
  /** One sentence per cause, e.g. "needs hevc; no selected device has it". */
  reasons: string[];
  /** Unmet requirements per device id. */
  perDevice: Record<string, string[]>;
}

/**
 * Why no device in `devices` can run `test`, or null when one can. A requirement no device meets is named on
 * its own; when every requirement is met somewhere but never all on one device, the per-device gaps are listed.
 */
export function explainIneligible(
  test: RequiringTest,
  devices: readonly MatchableDevice[],
): IneligibilityExplanation | null {
  if (devices.length === 0) return { testId: test.id, reasons: ['no devices selected'], perDevice: {} };
  const perDevice: Record<string, string[]> = {};
  const failing = new Map<string, { need: string; devices: number }>();
  for (const device of devices) {
    const unmet = unmetRequirements(test, device);
    if (unmet.length === 0) return null;
    perDevice[device.id] = unmet.map((u) => u.need);
    for (const u of unmet) {
      const entry = failing.get(u.key) ?? { need: u.need, devices: 0 };
      entry.devices++;
      failing.set(u.key, entry);
    }
  }
  const everywhere = [...failing.values()].filter((f) => f.devices === devices.length);
  const reasons = everywhere.map((f) => `needs ${f.need}; no selected device has it`);
  if (reasons.length === 0) {
    const needs = [...failing.values()].map((f) => f.need);
    const gaps = Object.entries(perDevice).map(([id, unmet]) => `${id} lacks ${unmet.join(', ')}`);
    reasons.push(
      `needs ${needs.join(' and ')} on one device; no selected device has all of them (${gaps.join('; ')})`,
    );
  }
  return { testId: test.id, reasons, perDevice };
}
