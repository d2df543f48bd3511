/**
 * DRM security levels, strongest first. Widevine: L1 (hardware) > L2 > L3 (software);
 * PlayReady: SL3000 (hardware) > SL2000 > SL150.
 */
const LEVELS: Record<string, readonly string[]> = {
  widevine: ['L1', 'L2', 'L3'],
  playready: ['SL3000', 'SL2000', 'SL150'],
};

/** Higher is stronger; undefined when the system or level is unknown. */
export function drmLevelRank(system: string, level: string): number | undefined {
  const levels = LEVELS[system.toLowerCase()];
  if (levels === undefined) return undefined;
  const index = levels.findIndex((l) => l.toLowerCase() === level.toLowerCase());
  return index === -1 ? undefined : levels.length - index;
}

/** Whether a device's level for a system satisfies a required minimum level. */
export function drmLevelSatisfies(system: string, have: string, need: string): boolean {
  if (have.toLowerCase() === need.toLowerCase()) return true;
  const haveRank = drmLevelRank(system, have);
  const needRank = drmLevelRank(system, need);
  return haveRank !== undefined && needRank !== undefined && haveRank >= needRank;
}

export function knownDrmLevels(system: string): readonly string[] {
  return LEVELS[system.toLowerCase()] ?? [];
}
