import { z } from 'zod';
import { DRIVER_KINDS, type DriverKind } from '../devices/device.ts';
import { INPUT_KINDS, RESOLUTIONS } from '../devices/capabilities.ts';
import { definitionError } from './definition-error.ts';
import type { TestBody, TestDefinition } from './test-api.ts';

/** What a test needs of a device (the `Requirements` type of suites/test-api.ts is derived from it). */
export const requirementsSchema = z
  .object({
    /** Every codec listed must be decodable. */
    codecs: z.array(z.string().min(1)).optional(),
    /** true: any HDR format; a list: at least one of these formats. */
    hdr: z.union([z.boolean(), z.array(z.string().min(1))]).optional(),
    /** DRM system and the minimum security level, e.g. { system: 'widevine', level: 'L1' }. */
    drm: z
      .object({ system: z.string().min(1), level: z.string().min(1).optional() })
      .strict()
      .optional(),
    minResolution: z.enum(RESOLUTIONS).optional(),
    minMemoryMb: z.number().int().positive().optional(),
    input: z.enum(INPUT_KINDS).optional(),
    /** Driver kinds the test body can run on (it uses `driver`, `page` or `container`). */
    drivers: z.array(z.enum(DRIVER_KINDS)).min(1).optional(),
  })
  .strict();

/** A test's metadata (the `TestMeta` type of suites/test-api.ts is derived from it). */
export const testMetaSchema = z
  .object({
    /** Stable id: history is keyed by it, so it survives title and code changes. */
    id: z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, 'ids are lower case: letters, digits, . _ / -'),
    title: z.string().min(1),
    tags: z.array(z.string().min(1)).default([]),
    component: z.string().min(1),
    owner: z.string().min(1),
    /** 0 (lowest) to 3 (release blocker). */
    priority: z.number().int().min(0).max(3).default(1),
    timeoutMs: z.number().int().positive().default(60_000),
    retries: z.number().int().min(0).max(10).default(0),
    requires: requirementsSchema.default({}),
  })
  .strict();

export type TestMetaInput = z.input<typeof testMetaSchema>;

/** Declares a test: metadata validated now (errors name the field), body run later on a device. */
export function defineTest(meta: TestMetaInput, body: TestBody): TestDefinition {
  const parsed = testMetaSchema.safeParse(meta);
  if (!parsed.success) throw definitionError(meta, testMetaSchema, parsed.error);
  return { ...parsed.data, body };
}

export type { DriverKind };
