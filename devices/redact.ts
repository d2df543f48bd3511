/**
 * The one place secrets are redacted before anything leaves devlab: API views of devices, CLI output,
 * log lines, Redis state/log/health values, stored attempts and the messages built from failed requests.
 *
 * - `redactUrl`: one URL (a device cloud's Appium hub URL carries its access key), through the WHATWG
 *   URL class: scheme, host, port and path stay, user and password become `***`.
 * - `redactText`: free text (an error message may quote the URL it failed on): every `scheme://user:pass@`
 *   in it, found in one left-to-right pass (linear time, no regular expression).
 * - `redact`: a deep copy of a value with secret keys' values hidden and every string passed through
 *   `redactUrl`; `redactStrings`: every string through `redactText`, keys left alone, for messages.
 * - `secretValues`/`scrubSecrets`: known secret values scrubbed from text that may echo them.
 */

/** Keys whose values never reach a log: credentials of device clouds and services. */
const SECRET_KEY = /(access[-_]?key|password|passwd|secret|token|api[-_]?key|credential|authorization)/i;

export const REDACTED = '***';

/**
 * Characters that end a URL's authority in free text: the URL parser's own delimiters (`/ ? # \`), white
 * space and the quotes and brackets that surround a URL in messages, JSON and markup.
 */
function endsAuthority(code: number): boolean {
  return (
    code <= 0x20 || // white space and control characters
    code === 0x2f || // /
    code === 0x3f || // ?
    code === 0x23 || // #
    code === 0x5c || // \
    code === 0x22 || // "
    code === 0x27 || // '
    code === 0x3c || // <
    code === 0x3e || // >
    code === 0x60 // `
  );
}

/** `user:password` → `***:***`, `token` → `***`, `:password` → `:***`. */
function maskUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  if (colon === -1) return userinfo ? REDACTED : '';
  const user = colon > 0 ? REDACTED : '';
  const password = colon < userinfo.length - 1 ? REDACTED : '';
  return `${user}:${password}`;
}

/**
 * `text` with the credentials of every URL in it masked: `see http://u:k3y@hub:4444/wd/hub` →
 * `see http://***:***@hub:4444/wd/hub`. One pass: each character is looked at a bounded number of times,
 * whatever the input (no regular expression that could backtrack). As the URL parser does, the last `@`
 * before the end of the authority ends the credentials.
 */
export function redactText(text: string): string {
  let i = text.indexOf('://');
  if (i === -1) return text;
  let out = '';
  let copied = 0;
  while (i !== -1) {
    const start = i + 3;
    let end = start;
    let at = -1;
    while (end < text.length && !endsAuthority(text.charCodeAt(end))) {
      if (text.charCodeAt(end) === 0x40) at = end; // @
      end++;
    }
    if (at !== -1) {
      out += text.slice(copied, start) + maskUserinfo(text.slice(start, at));
      copied = at;
    }
    // The next `://` may begin on the authority's last character (`x:` + `//`), never before it.
    i = text.indexOf('://', Math.max(end - 1, i + 1));
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * One URL with its credentials masked through the URL class: `http://devlab:KEY@127.0.0.1:4723/wd/hub`
 * → `http://***:***@127.0.0.1:4723/wd/hub`. A URL without credentials comes back unchanged; text that is
 * not one URL goes through `redactText`.
 */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return redactText(url);
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return redactText(url);
  if (parsed.username) parsed.username = REDACTED;
  if (parsed.password) parsed.password = REDACTED;
  return parsed.href;
}

/** The bare key of a vendor-prefixed capability: `cloud:accessKey` → `accessKey`. */
const bareKey = (key: string) => (key.includes(':') ? key.slice(key.indexOf(':') + 1) : key);

function deepRedact(
  value: unknown,
  text: (s: string) => string,
  secretKey: ((key: string) => boolean) | null,
): unknown {
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return text(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object' || Buffer.isBuffer(node)) return node;
    if (node instanceof Error) return { name: node.name, message: redactText(node.message) };
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      out[key] = secretKey?.(key) ? REDACTED : walk(child);
    }
    return out;
  };
  return walk(value);
}

/**
 * A deep copy with secret values replaced, for logs, CLI and API output: values under secret keys, and the
 * credentials of URLs anywhere (an Appium server URL of a device cloud carries its access key). `extraKeys`
 * names further secret keys, e.g. the capabilities an inventory marks secret.
 */
export function redact<T>(value: T, extraKeys: readonly string[] = []): T {
  const extra = new Set(extraKeys);
  return deepRedact(value, redactUrl, (key) => extra.has(key) || SECRET_KEY.test(bareKey(key))) as T;
}

/**
 * A deep copy with the URL credentials in every string masked (`redactText`), keys left alone: for
 * messages such as an attempt report, whose fields are not secrets by name but whose texts may quote a
 * hub URL. Strings without `://` are kept as they are (the same string).
 */
export function redactStrings<T>(value: T): T {
  return deepRedact(value, redactText, null) as T;
}

function decodedOrSame(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray '%': not percent-encoded after all
  }
}

/**
 * The secret parts of a URL's credentials, as they may show in text: the password (or the user when it
 * stands alone, a token) as written and decoded, and the `Basic` token made of them.
 */
function urlSecrets(text: string): string[] {
  if (!text.includes('@') || !URL.canParse(text)) return [];
  const url = new URL(text);
  if (!url.username && !url.password) return [];
  const user = decodedOrSame(url.username);
  const password = decodedOrSame(url.password);
  const secret = url.password ? [url.password, password] : [url.username, user];
  return [...secret, Buffer.from(`${user}:${password}`, 'utf8').toString('base64')];
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
      if (typeof node === 'string') for (const s of urlSecrets(node)) if (s.length >= 4) out.add(s);
    } else if (Array.isArray(node)) {
      for (const child of node) walk(child, secret);
    } else if (node !== null && typeof node === 'object' && !Buffer.isBuffer(node)) {
      for (const [key, child] of Object.entries(node)) {
        walk(child, secret || extra.has(key) || SECRET_KEY.test(bareKey(key)));
      }
    }
  };
  walk(value, false);
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of the given secret values replaced by `***`, and URL credentials masked. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return redactText(out);
}
