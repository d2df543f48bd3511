import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { TestMeta } from '../test-api.ts';

/** Metadata with a fixed key order and sorted tags, so reordering a file does not change the hash. */
export function normaliseMeta(meta: TestMeta): string {
  return sortedJson({
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

/** sha256 (hex) of the normalised metadata and the source text of the test's file (test file or manifest). */
export function contentHash(meta: TestMeta, sourceText: string): string {
  return createHash('sha256').update(normaliseMeta(meta)).update('\n').update(sourceText).digest('hex');
}

/** JSON with object keys sorted at every level (`safe-stable-stringify`): equal values give equal text. */
function sortedJson(value: unknown): string {
  return stringify(value) ?? 'null';
}
