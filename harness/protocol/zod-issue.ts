import type { z } from 'zod';

/**
 * The first issue of a failed zod parse on one line, where and what: `limits.run: Too small: expected
 * number to be >0` (`root` when the value itself is wrong). For log lines and errors about a message that
 * is dropped; the API, config and suite loaders name positions of their own (api/validation.ts,
 * config/config.ts, suites/definition-error.ts).
 */
export function firstIssue(error: z.ZodError, root = '(root)'): string {
  const issue = error.issues[0];
  if (!issue) return `${root}: ${error.message}`;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') path.push(issue.keys.join(','));
  return `${path.join('.') || root}: ${issue.message}`;
}
