import { isIP } from 'node:net';
import { RequestError } from '../errors.ts';

/** Without brackets and the trailing dot, lower case: how an allow-list entry and a URL's host compare. */
function normalHost(host: string): string {
  return host
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
}

/** Whether `host` is one of `allowHosts`: an exact name or address, or `*.domain` for its subdomains. */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const h = normalHost(host);
  return allowHosts.some((entry) => {
    const e = normalHost(entry);
    if (e.startsWith('*.')) return isIP(h) === 0 && h.endsWith(e.slice(1)) && h.length > e.length - 1;
    return h === e;
  });
}

/**
 * A hook's target, checked when it is added and again before every attempt (the allow-list may have
 * shrunk since): http(s), no credentials in it, and a host on the allow-list. Throws a RequestError on
 * `url` saying why (an API 400).
 */
export function checkHookUrl(text: string, allowHosts: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RequestError('url', 'url: not a valid absolute URL (e.g. https://ci.example.com/devlab)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RequestError('url', `url: only http and https targets are allowed, not ${url.protocol}`);
  if (url.username || url.password)
    throw new RequestError(
      'url',
      'url: credentials in the URL are not accepted; the receiver checks the X-Devlab-Signature-256 header instead',
    );
  if (!hostAllowed(url.hostname, allowHosts))
    throw new RequestError(
      'url',
      `url: host ${normalHost(url.hostname)} is not on this lab's hook allow-list (hooks.allowHosts / DEVLAB_HOOKS_ALLOW_HOSTS: ${allowHosts.join(', ') || 'empty'})`,
    );
  return url;
}

/** Whether `repo` (owner/name) matches an entry: the same owner/name, or `owner/*` for all of its repositories. */
export function repoAllowed(repo: string, allowed: readonly string[]): boolean {
  const r = repo.toLowerCase();
  const owner = r.split('/')[0];
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === r || (e.endsWith('/*') && e.slice(0, -2) === owner);
  });
}

/**
 * A github target's repository, checked when the hook is added and again before every attempt: the lab's
 * token may set statuses on many repositories, so a partner's hook may name only those
 * `hooks.githubRepos` gives that partner. An admin's hook for every partner (`partner` null) is not
 * limited. Throws a RequestError on `githubRepo` (an API 400) saying what the config allows.
 */
export function checkGithubRepo(
  partner: string | null,
  repo: string,
  githubRepos: Readonly<Record<string, readonly string[]>>,
): void {
  if (partner === null) return;
  const allowed = githubRepos[partner] ?? [];
  if (repoAllowed(repo, allowed)) return;
  throw new RequestError(
    'githubRepo',
    `githubRepo: ${repo} is not one of partner ${partner}'s repositories (hooks.githubRepos.${partner} / DEVLAB_HOOKS_GITHUB_REPOS: ${allowed.join(', ') || 'none'})`,
  );
}
