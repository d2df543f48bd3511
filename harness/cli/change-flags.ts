import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { componentMatcher, type ComponentMap } from '../history/change-components.ts';
import type { RunChange } from '../protocol/run-request.ts';

/** `a,b` as a list; `@FILE` as the file's lines (e.g. `@<(git diff --name-only origin/main)`). */
export function listOrFile(value: string): string[] {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`cannot read ${value.slice(1)}: ${(err as Error).message}`);
    }
  }
  return text
    .split(value.startsWith('@') ? /\r?\n/ : ',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A recall target in (0, 1), e.g. 0.95. */
export function confidenceLevel(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n >= 1)
    throw new InvalidArgumentError(`confidence must be in (0, 1), e.g. 0.95, got "${v}"`);
  return n;
}

/**
 * The run request's `change` from the CLI flags, or undefined when none was given. Changed paths are also
 * mapped to components with the local config's `components` (the server maps them with its own too),
 * so the components travel with the request.
 */
export function changeFromFlags(
  flags: { commit?: string; changedPaths?: string[]; changed?: string },
  components: ComponentMap,
): RunChange | undefined {
  const named = flags.changed ? listOrFile(flags.changed) : [];
  const paths = flags.changedPaths ?? [];
  if (!flags.commit && paths.length === 0 && named.length === 0) return undefined;
  const mapped = paths.length > 0 ? componentMatcher(components)(paths) : [];
  const all = [...new Set([...named, ...mapped])].sort();
  return {
    ...(flags.commit ? { commit: flags.commit } : {}),
    ...(paths.length > 0 ? { changedPaths: paths } : {}),
    ...(all.length > 0 ? { components: all } : {}),
  };
}
