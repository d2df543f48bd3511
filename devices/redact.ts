/** Keys whose values never reach a log: credentials of device clouds and services. */
const SECRET_KEY = /(access[-_]?key|password|passwd|secret|token|api[-_]?key|credential|authorization)/i;

export const REDACTED = '***';

/** `scheme://user:password@` or `scheme://token@` at the start of a string (a device cloud's hub URL). */
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^/@:\s]+)(?::([^/@\s]*))?@/i;

/** The secret part of a URL's credentials: the password, or the user when it stands alone (a token). */
function urlSecret(text: string): string | null {
  const m = URL_CREDENTIALS.exec(text);
  if (!m) return null;
  return m[3] ? m[3] : m[3] === undefined ? m[2]! : null;
}

function decodedOrSame(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray '%': not percent-encoded after all
  }
}

/** A URL with its credentials' secret part replaced: `https://user:***@hub.example/wd/hub`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, (_all, scheme: string, user: string, password?: string) =>
    password === undefined ? `${scheme}${REDACTED}@` : `${scheme}${user}:${REDACTED}@`,
  );
}

/**
 * A deep copy with secret values replaced, for logs and CLI output: values under secret keys, and the
 * credentials of URLs anywhere (an Appium server URL of a device cloud carries its access key). `extraKeys` names further secret keys,
 * e.g. the capabilities an inventory marks secret.
 */
export function redact<T>(value: T, extraKeys: readonly string[] = []): T {
  const extra = new Set(extraKeys);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node === 'string') return redactUrlCredentials(node);
    if (node === null || typeof node !== 'object' || Buffer.isBuffer(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const bare = key.includes(':') ? key.slice(key.indexOf(':') + 1) : key;
      out[key] = extra.has(key) || SECRET_KEY.test(bare) ? REDACTED : walk(child);
    }
    return out;
  };
  return walk(value) as T;
}

/**
 * The values under secret keys (and `extraKeys`), to scrub them from free text such as a server's error
 * message, which may echo what it was sent (Selenium Grid quotes the capabilities it cannot match).
 * Values shorter than 4 characters are left out: scrubbing them would garble every message.
 */
export function secretValues(value: unknown, extraKeys: readonly string[] = []): string[] {
  const extra = new Set(extraKeys);
  const out = new Set<string>();
  const walk = (node: unknown, secret: boolean): void => {
    if (typeof node === 'string' || typeof node === 'number') {
      const text = String(node);
      if (secret && text.length >= 4) out.add(text).add(JSON.stringify(text).slice(1, -1));
      const inUrl = typeof node === 'string' ? urlSecret(node) : null;
      if (inUrl && inUrl.length >= 4) out.add(inUrl).add(decodedOrSame(inUrl));
    } else if (Array.isArray(node)) {
      for (const child of node) walk(child, secret);
    } else if (node !== null && typeof node === 'object' && !Buffer.isBuffer(node)) {
      for (const [key, child] of Object.entries(node)) {
        const bare = key.includes(':') ? key.slice(key.indexOf(':') + 1) : key;
        walk(child, secret || extra.has(key) || SECRET_KEY.test(bare));
      }
    }
  };
  walk(value, false);
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of the given secret values replaced by `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}
