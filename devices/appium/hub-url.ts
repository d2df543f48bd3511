import { redactUrl } from '../redact.ts';

/**
 * An Appium hub URL taken apart for requests: fetch (undici) refuses a URL that carries credentials, so
 * they travel as an `Authorization: Basic` header to the URL without them.
 */
export interface HubEndpoint {
  /** The hub URL without credentials (scheme, host, port, path). */
  url: URL;
  /** The user of the URL's credentials, decoded; '' when it has none. */
  user: string;
  /** The password (access key) of the URL's credentials, decoded; '' when it has none. */
  key: string;
  /** `Basic base64(user:key)` when the URL has credentials, else null. */
  authorization: string | null;
  /** The hub URL as it may be shown: credentials masked. */
  display: string;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray '%': not percent-encoded after all
  }
}

/** Splits `http://user:key@host:port/path` into the URL without credentials and its Basic header. */
export function hubEndpoint(server: string | URL): HubEndpoint {
  const url = new URL(server);
  const user = decoded(url.username);
  const key = decoded(url.password);
  url.username = '';
  url.password = '';
  const authorization =
    user || key ? `Basic ${Buffer.from(`${user}:${key}`, 'utf8').toString('base64')}` : null;
  return { url, user, key, authorization, display: redactUrl(String(server)) };
}

/**
 * A hub endpoint's URL for `command` (e.g. `status`), relative to the hub's path as WebDriver clients
 * resolve it: `http://host:4444/wd/hub` + `status` → `http://host:4444/wd/hub/status`.
 */
export function hubCommandUrl(hub: HubEndpoint, command: string): URL {
  const url = new URL(hub.url);
  let base = url.pathname;
  while (base.endsWith('/')) base = base.slice(0, -1);
  url.pathname = `${base}/${command}`;
  url.search = '';
  url.hash = '';
  return url;
}

/** The headers a request to the hub needs: its Basic credentials, if any. */
export function hubHeaders(hub: HubEndpoint): Record<string, string> {
  return hub.authorization ? { authorization: hub.authorization } : {};
}
