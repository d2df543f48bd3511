import { z } from 'zod';

const codecName = z.string().regex(/^[a-z0-9.-]+$/, 'codec names are lower case, e.g. hevc');

/** How an emulated device presents itself to web content (applied through chromeOptions and CDP). */
export const emulationSchema = z
  .object({
    userAgent: z.string().min(1).optional(),
    windowSize: z
      .object({ width: z.number().int().positive(), height: z.number().int().positive() })
      .optional(),
    /** Chrome DevTools CPU slowdown factor; 1 = no throttling. */
    cpuThrottling: z.number().min(1).max(20).optional(),
    /** Answer MediaSource.isTypeSupported / canPlayType per the device's codecs and HDR formats. */
    mediaProbes: z.boolean().default(false),
    /** Overrides of the capabilities' codecs/hdr for the probes. */
    codecs: z.array(codecName).optional(),
    hdr: z.array(codecName).optional(),
  })
  .strict();

/**
 * The local Appium server of a lab host when the config does not name another (`appium.host`,
 * `appium.port`): what an Appium device without a `server` in the inventory is driven through.
 */
export const DEFAULT_LOCAL_APPIUM_URL = 'http://127.0.0.1:4723';

export const appiumSettingsSchema = z
  .object({
    /**
     * Appium server base URL, e.g. http://127.0.0.1:4723. Left out in the inventory: the agent host's local
     * server, `http://<appium.host>:<appium.port>` of the lab's config (see `loadInventory`).
     */
    server: z.url(),
    /** W3C capabilities sent on session creation (vendor prefixed where required). */
    capabilities: z.record(z.string(), z.unknown()),
    /** reuse: one session for consecutive tests with a reset in between; fresh: a new session per test. */
    sessionReuse: z.enum(['reuse', 'fresh']).default('reuse'),
    /**
     * Between reused-session tests, cookies and storage are cleared after the last page is stopped
     * (`quiesce`: its timers, media and storage writes; one round trip), and with `blank-page` the
     * session also leaves for about:blank (~50-100 ms more). See reset-script.ts.
     */
    reset: z.enum(['quiesce', 'blank-page']).default('quiesce'),
    /** WebdriverIO per-command HTTP timeout. */
    commandTimeoutMs: z.number().int().positive().default(30_000),
    /** Capabilities whose values are credentials; redacted in logs besides the usual secret names. */
    secretCapabilities: z.array(z.string()).default([]),
    emulation: emulationSchema.optional(),
  })
  .strict();

export type AppiumSettings = z.infer<typeof appiumSettingsSchema>;
export type Emulation = z.infer<typeof emulationSchema>;
