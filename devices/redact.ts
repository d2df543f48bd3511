/** Keys whose values never reach a log: credentials of device clouds and services. */
const SECRET_KEY = /(access[-_]?key|password|passwd|secret|token|api[-_]?key|credential|authorization)/i;

export const REDACTED = '***';

/**
 * A deep copy with secret values replaced, for logs and CLI output. `extraKeys` names further secret keys,
 * e.g. the capabilities an inventory marks secret.
 */
export function redact<T>(value: T, extraKeys: readonly string[] = []): T {
  const extra = new Set(extraKeys);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
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
