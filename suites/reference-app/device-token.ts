import { createHash } from 'node:crypto';

/** The fields of the `DevlabDevice/1.0 (...)` user-agent token that emulated lab devices announce. */
export type DeviceToken = Record<string, string>;

const TOKEN = /DevlabDevice\/[\d.]+ \(([^)]*)\)/;

/** Parses `DevlabDevice/1.0 (model=x; fw=y; ...)`; null for any other browser. */
export function parseDeviceToken(userAgent: string): DeviceToken | null {
  const match = TOKEN.exec(userAgent);
  if (!match) return null;
  const fields: DeviceToken = {};
  for (const part of match[1]!.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return fields;
}

/**
 * Which device a request comes from. The whole UA is hashed in, because two lab devices of the same
 * model must not share resume positions; the model stays readable for logs.
 */
export function deviceKey(userAgent: string): string {
  const model = parseDeviceToken(userAgent)?.['model'] ?? 'desktop';
  const hash = createHash('sha1').update(userAgent).digest('hex').slice(0, 10);
  return `${model}/${hash}`;
}
