import { createHash } from 'node:crypto';
import type { TestMeta } from '../test-api.ts';

/** Metadata with a fixed key order and sorted tags, so reordering a file does not change the hash. */
export function normaliseMeta(meta: TestMeta): string {
  return stableStringify({
    id: meta.id,
    title: meta.title,
    tags: [...meta.tags].sort(),
    component: meta.component,
    owner: meta.owner,
    priority: meta.priority,
    timeoutMs: meta.timeoutMs,
    retries: meta.retries,
    requires: meta.requires,
  });
}

/** sha256 (hex) of the normalised metadata and the body source or manifest text. */
export function contentHash(meta: TestMeta, sourceText: string): string {
  return createHash('sha256').update(normaliseMeta(meta)).update('\n').update(sourceText).digest('hex');
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
