import { type ZodType, z } from 'zod';
import { appiumSettingsSchema } from '../appium/settings.ts';
import { browserSettingsSchema } from '../browser/settings.ts';
import { capabilitiesSchema } from '../capabilities.ts';
import { DRIVER_KINDS, type DriverKind } from '../device.ts';
import { dockerSettingsSchema } from '../docker/settings.ts';

/** Each driver folder owns its settings schema; the inventory validates `settings` with the device's. */
export const DRIVER_SETTINGS: Record<DriverKind, ZodType> = {
  appium: appiumSettingsSchema,
  docker: dockerSettingsSchema,
  browser: browserSettingsSchema,
};

export const deviceEntrySchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'ids are lower case letters, digits, dot, dash, underscore'),
    name: z.string().min(1),
    driver: z.enum(DRIVER_KINDS),
    model: z.string().min(1),
    platform: z.string().min(1),
    os: z.string().min(1),
    firmware: z.string().min(1),
    capabilities: capabilitiesSchema,
    host: z.string().min(1),
    tags: z.array(z.string().min(1)).default([]),
    settings: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const inventoryFileSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Free-form anchors for YAML aliases (`<<: *appium-local`); not read otherwise. */
    templates: z.record(z.string(), z.unknown()).optional(),
    devices: z.array(z.unknown()),
  })
  .strict();
