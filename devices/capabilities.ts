import { z } from 'zod';

/** Resolutions in ascending order; comparisons (`caps.resolution>=1080p`) use this order. */
export const RESOLUTIONS = ['480p', '720p', '1080p', '1440p', '2160p'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export const INPUT_KINDS = ['dpad', 'touch', 'pointer', 'voice'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** What a device can play and how it is driven; the facts that test requirements are matched against. */
export const capabilitiesSchema = z
  .object({
    /** Video codecs the device decodes, lower case: h264, hevc, av1, vp9. */
    codecs: z.array(z.string().regex(/^[a-z0-9.-]+$/, 'codec names are lower case, e.g. hevc')).default([]),
    /** HDR formats: hdr10, hdr10plus, dolby-vision, hlg; empty when SDR only. */
    hdr: z.array(z.string().regex(/^[a-z0-9.-]+$/)).default([]),
    /** DRM systems and their security level, e.g. { widevine: L1, playready: SL3000 }. */
    drm: z.record(z.string(), z.string()).default({}),
    resolution: z.enum(RESOLUTIONS),
    memoryMb: z.number().int().positive(),
    input: z.array(z.enum(INPUT_KINDS)).min(1),
  })
  .strict();

export type Capabilities = z.infer<typeof capabilitiesSchema>;

export function resolutionRank(resolution: Resolution): number {
  return RESOLUTIONS.indexOf(resolution);
}
