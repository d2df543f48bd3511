import type { DiscoveryProblem } from '../discovery/discover-tests.ts';
import type { Catalog } from './catalog.ts';

/** `file:line:column: message` (a directory that cannot be read: `dir: message`). */
export function describeProblem(
  problem: DiscoveryProblem,
  displayPath: (file: string) => string = (f) => f,
): string {
  const where =
    problem.line === undefined
      ? displayPath(problem.file)
      : `${displayPath(problem.file)}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.message}`;
}

/** What `--allow-broken` says for each problem it lets pass: the tests of that file are not in the catalog. */
export function droppedWarning(problem: DiscoveryProblem, displayPath?: (file: string) => string): string {
  const what =
    problem.kind === 'duplicate-id'
      ? 'dropped a duplicate test'
      : problem.kind === 'unreadable-dir'
        ? 'dropped a suite directory'
        : 'dropped the tests of';
  return `warning: ${what} ${describeProblem(problem, displayPath)} (--allow-broken)`;
}

/**
 * Suite files that did not load (or a duplicate id, or a suite directory that cannot be read): the lab
 * refuses to go on with a catalog that silently lacks their tests unless it is told `--allow-broken`.
 */
export class SuiteLoadError extends Error {
  override readonly name = 'SuiteLoadError';

  constructor(
    readonly problems: readonly DiscoveryProblem[],
    displayPath?: (file: string) => string,
  ) {
    const lines = problems.map((p) => `  ${describeProblem(p, displayPath)}`);
    super(
      `${problems.length} suite problem(s); their tests would be missing from the catalog ` +
        `(fix them, or pass --allow-broken to drop them and go on):\n${lines.join('\n')}`,
    );
  }
}

export interface CatalogCheck {
  /** Go on without the broken files' tests (each named by `warn`) instead of failing. */
  allowBroken?: boolean;
  /** Told one line per dropped file with `allowBroken`. */
  warn?: (line: string, problem: DiscoveryProblem) => void;
  displayPath?: (file: string) => string;
}

/** The catalog when it loaded whole; else a SuiteLoadError, or with `allowBroken` a warning per problem. */
export function checkCatalog(catalog: Catalog, check: CatalogCheck = {}): Catalog {
  if (catalog.problems.length === 0) return catalog;
  if (!check.allowBroken) throw new SuiteLoadError(catalog.problems, check.displayPath);
  for (const problem of catalog.problems) check.warn?.(droppedWarning(problem, check.displayPath), problem);
  return catalog;
}
