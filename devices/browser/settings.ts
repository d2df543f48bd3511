import { z } from 'zod';

export const browserSettingsSchema = z
  .object({
    /** Playwright device descriptor name, e.g. "Pixel 7" or "Desktop Chrome". */
    descriptor: z.string().min(1).optional(),
    viewport: z
      .object({ width: z.number().int().positive(), height: z.number().int().positive() })
      .optional(),
    userAgent: z.string().min(1).optional(),
    /** Chromium binary; Debian's by default, never a downloaded browser. */
    executablePath: z.string().min(1).default('/usr/bin/chromium'),
    headless: z.boolean().default(true),
  })
  .strict();

export type BrowserSettings = z.infer<typeof browserSettingsSchema>;
