import { z } from 'zod';
import type { DeviceRecord } from '../../devices/device.ts';
import { WebDriverError } from './webdriver-error.ts';

type Caps = Record<string, unknown>;

const PARTNER = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** devlab's own capabilities (W3C extension capabilities, prefix `devlab:`); any other `devlab:` key is refused. */
const devlabCapsSchema = z
  .object({
    /** Device selector in the lab's device query language (`devlab devices list` fields). */
    'devlab:selector': z.string().max(4000).optional(),
    /** The partner the session is for: without auth, or for an admin token; a partner token's own otherwise. */
    'devlab:partner': z
      .string()
      .regex(PARTNER, 'partner ids are lower case letters, digits, _ and -')
      .optional(),
    /** The build under test, shown with the run. */
    'devlab:build': z.string().min(1).max(200).optional(),
    /** At most this many seconds in the queue (the lab's `webdriver.queueTimeoutMs` is the ceiling). */
    'devlab:queueTimeout': z.number().positive().max(3600).optional(),
  })
  .strict();

export type DevlabCaps = z.infer<typeof devlabCapsSchema>;

const capsSchema = z.record(z.string(), z.unknown());
/** The W3C new-session body (`capabilities`), or the legacy JSON Wire one (`desiredCapabilities`). */
const newSessionSchema = z.looseObject({
  capabilities: z
    .looseObject({ alwaysMatch: capsSchema.optional(), firstMatch: z.array(capsSchema).max(32).optional() })
    .optional(),
  desiredCapabilities: capsSchema.optional(),
});

/** One set of capabilities to try: the client's own (sent on to Appium) and devlab's. */
export interface CapabilityChoice {
  client: Caps;
  devlab: DevlabCaps;
}

/**
 * Not sent on to Appium: the proxy speaks classic WebDriver over HTTP only (no BiDi socket), and
 * WebdriverIO's own `wdio:` options are the client's business.
 */
function forwarded(key: string): boolean {
  return key !== 'webSocketUrl' && !key.startsWith('wdio:') && !key.startsWith('devlab:');
}

function issueText(error: z.ZodError, where: string): string {
  const issue = error.issues[0]!;
  const path = issue.path.map(String).join('.');
  return `${where}${path ? `.${path}` : ''}: ${issue.message}`;
}

/**
 * The choices of a new-session body, in the client's order: `alwaysMatch` merged with each `firstMatch`
 * entry (a key in both is refused, as the W3C spec says). Bad input is an `invalid argument` naming the key.
 */
export function capabilityChoices(body: unknown): CapabilityChoice[] {
  const parsed = newSessionSchema.safeParse(body ?? {});
  if (!parsed.success) throw new WebDriverError('invalid argument', issueText(parsed.error, 'body'));
  const always = parsed.data.capabilities?.alwaysMatch ?? parsed.data.desiredCapabilities ?? {};
  const firsts = parsed.data.capabilities?.firstMatch ?? [];
  const merged = (firsts.length ? firsts : [{}]).map((first, i) => {
    const twice = Object.keys(first).find((k) => k in always);
    if (twice)
      throw new WebDriverError(
        'invalid argument',
        `capabilities.firstMatch.${i}.${twice}: also in alwaysMatch; name a capability in one of them`,
      );
    return {
      caps: { ...always, ...first },
      where: firsts.length ? `capabilities.firstMatch.${i}` : 'capabilities',
    };
  });
  return merged.map(({ caps, where }) => {
    const own = Object.fromEntries(Object.entries(caps).filter(([k]) => k.startsWith('devlab:')));
    const devlab = devlabCapsSchema.safeParse(own);
    if (!devlab.success) {
      const known = Object.keys(devlabCapsSchema.shape).join(', ');
      throw new WebDriverError(
        'invalid argument',
        `${issueText(devlab.error, where)} (devlab capabilities: ${known})`,
      );
    }
    return {
      client: Object.fromEntries(Object.entries(caps).filter(([k]) => forwarded(k))),
      devlab: devlab.data,
    };
  });
}

/**
 * What the Appium session is created with: the device's own capabilities win (they say how to reach and
 * emulate the device), the client's others are added. Appium's own idle limit backs up the lab's: a
 * session the lab could not end (the control plane died) ends a minute after the lab's idle timeout.
 */
export function sessionCaps(device: DeviceRecord, client: Caps, idleTimeoutMs: number): Caps {
  const own = (device.settings['capabilities'] ?? {}) as Caps;
  const caps: Caps = { ...client, ...own };
  if (caps['appium:newCommandTimeout'] === undefined)
    caps['appium:newCommandTimeout'] = Math.ceil(idleTimeoutMs / 1000) + 60;
  return caps;
}
