import { createHash } from 'node:crypto';

/**
 * A failure signature clusters failures that are "the same problem": the first line of the message
 * with volatile parts (numbers, ids, quoted values, URLs, paths) masked, plus the top stack frames
 * without line numbers. Returns the normalized text and a short stable hash of it.
 */
export function failureSignature(
  message: string,
  stack?: string,
  frames = 3,
): { text: string; hash: string } {
  const first = (message.split('\n').find((l) => l.trim()) ?? '').trim();
  const normalized = first
    .replace(/https?:\/\/\S+/g, '<url>')
    .replace(/(["'`]).*?\1/g, '<str>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/(?:\/[\w.-]+){2,}/g, '<path>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  const top = (stack ?? '')
    .split('\n')
    .map((l) => /^\s*at (?:async )?([^\s(]+)?\s*\(?([^():]+)?/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .slice(0, frames)
    .map((m) => `${m[1] ?? '<anon>'}@${(m[2] ?? '').split('/').pop() ?? ''}`);
  const text = [normalized, ...top].join(' | ');
  return { text, hash: createHash('sha1').update(text).digest('hex').slice(0, 12) };
}
