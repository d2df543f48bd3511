import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageSpecs } from '../../docker/images.ts';
import type { LocalImageSpec } from '../../docker/local-image.ts';

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stb-reference');

/** What a reference box declares about itself in /etc/devlab/device.conf; the checks read it. */
export interface StbProfile {
  model: string;
  firmware: string;
  memoryMb: number;
  widevine: 'L1' | 'L3';
  codecs: string[];
}

/** The conformance runner and its checks, from the files beside this module. */
function conformanceFiles(): NonNullable<LocalImageSpec['files']> {
  const files: NonNullable<LocalImageSpec['files']> = {
    '/opt/conformance/run.sh': { content: readFileSync(path.join(SOURCE, 'run.sh')), mode: 0o755 },
    '/results/.keep': { content: '' },
  };
  const checks = path.join(SOURCE, 'checks');
  for (const group of readdirSync(checks)) {
    for (const file of readdirSync(path.join(checks, group))) {
      files[`/opt/conformance/checks/${group}/${file}`] = {
        content: readFileSync(path.join(checks, group, file)),
        mode: 0o755,
      };
    }
  }
  return files;
}

export function stbReferenceSpec(profile: StbProfile): Omit<LocalImageSpec, 'tag'> {
  const conf = [
    `MODEL=${profile.model}`,
    `FIRMWARE=${profile.firmware}`,
    `MEMORY_MB=${profile.memoryMb}`,
    `DRM_WIDEVINE=${profile.widevine}`,
    `CODECS="${profile.codecs.join(' ')}"`,
    '',
  ].join('\n');
  return {
    files: { ...conformanceFiles(), '/etc/devlab/device.conf': { content: conf } },
    cmd: ['/opt/conformance/run.sh'],
    labels: {
      'devlab.image': 'stb-reference',
      'devlab.model': profile.model,
      'devlab.firmware': profile.firmware,
    },
  };
}

/** Specs the inventory's `build:` names refer to. */
export const REFERENCE_IMAGE_SPECS: ImageSpecs = {
  'stb-reference-1': stbReferenceSpec({
    model: 'STB-R1',
    firmware: '2.3.1',
    memoryMb: 2048,
    widevine: 'L1',
    codecs: ['h264', 'hevc'],
  }),
  'stb-reference-2-lite': stbReferenceSpec({
    model: 'STB-R2-LITE',
    firmware: '1.9.4',
    memoryMb: 512,
    widevine: 'L3',
    codecs: ['h264'],
  }),
};
