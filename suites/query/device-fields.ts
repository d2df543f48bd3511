import type { DeviceRecord } from '../../devices/device.ts';
import { createRegistry, type FieldDef, type FieldRegistry } from './field-registry.ts';

/** What device queries read: the inventory record plus its current state when known. */
export type QueryableDevice = Omit<DeviceRecord, 'settings'> & { state?: string };

function caps(device: QueryableDevice): Partial<DeviceRecord['capabilities']> | undefined {
  const value: unknown = device?.capabilities;
  return typeof value === 'object' && value !== null ? (value as DeviceRecord['capabilities']) : undefined;
}

function drmSystems(device: QueryableDevice): string[] | undefined {
  const drm = caps(device)?.drm;
  return typeof drm === 'object' && drm !== null ? Object.keys(drm) : undefined;
}

function drmLevelField(system: string): FieldDef<QueryableDevice> {
  return {
    name: `caps.drm.${system}`,
    kind: 'drm-level',
    drmSystem: system,
    description: `${system} security level`,
    read: (d) => {
      const drm = caps(d)?.drm;
      if (typeof drm !== 'object' || drm === null) return undefined;
      const key = Object.keys(drm).find((k) => k.toLowerCase() === system.toLowerCase());
      return key === undefined ? undefined : drm[key];
    },
  };
}

const DEVICE_FIELDS: FieldDef<QueryableDevice>[] = [
  { name: 'id', kind: 'string', description: 'device id', read: (d) => d?.id },
  { name: 'name', kind: 'string', description: 'display name', read: (d) => d?.name },
  { name: 'model', kind: 'string', description: 'hardware model', read: (d) => d?.model },
  {
    name: 'platform',
    kind: 'string',
    description: 'platform, e.g. tizen, android-tv',
    read: (d) => d?.platform,
  },
  { name: 'os', kind: 'version', description: 'OS version (version-aware order)', read: (d) => d?.os },
  {
    name: 'firmware',
    kind: 'version',
    description: 'firmware (version-aware order)',
    read: (d) => d?.firmware,
  },
  { name: 'driver', kind: 'string', description: 'appium, docker or browser', read: (d) => d?.driver },
  { name: 'tags', kind: 'list', description: 'tags (alias: tag)', read: (d) => d?.tags },
  { name: 'caps.codecs', kind: 'list', description: 'decodable codecs', read: (d) => caps(d)?.codecs },
  { name: 'caps.hdr', kind: 'list', description: 'HDR formats', read: (d) => caps(d)?.hdr },
  { name: 'caps.drm', kind: 'list', description: 'DRM systems present', read: drmSystems },
  {
    name: 'caps.resolution',
    kind: 'resolution',
    description: 'maximum resolution',
    read: (d) => caps(d)?.resolution,
  },
  { name: 'caps.memoryMb', kind: 'number', description: 'memory in MB', read: (d) => caps(d)?.memoryMb },
  { name: 'caps.input', kind: 'list', description: 'input kinds', read: (d) => caps(d)?.input },
  {
    name: 'state',
    kind: 'string',
    description: 'available, leased, busy, offline, ...',
    read: (d) => d?.state,
  },
  { name: 'host', kind: 'string', description: 'agent host', read: (d) => d?.host },
];

export const DEVICE_QUERY_FIELDS: FieldRegistry<QueryableDevice> = createRegistry(
  'device',
  DEVICE_FIELDS,
  { tag: 'tags' },
  [{ prefix: 'caps.drm.', describe: 'caps.drm.<system>', make: drmLevelField }],
);
