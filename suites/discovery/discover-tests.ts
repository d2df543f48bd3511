import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadManifestText } from '../manifest/load-manifest.ts';
import { ManifestError } from '../manifest/manifest-error.ts';
import { locate } from '../query/errors.ts';
import type { TestDefinition } from '../test-api.ts';
import { loadCodeTests } from './load-code-tests.ts';
import { fieldOffset, positionOfLoadError, type SourcePosition } from './load-error-position.ts';
import { findSuiteFiles, type SuiteFileKind } from './suite-files.ts';

/** The checkout's own `suites/` folder. */
export const DEFAULT_SUITES_DIR = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

export interface DiscoveredTest {
  definition: TestDefinition;
  kind: SuiteFileKind;
  /** File the test was defined in. */
  source: string;
  /** Suite name: the file's directory relative to its suite root, or the root's own name at the top. */
  suite: string;
  /** What the content hash covers besides metadata: the body's source, or the manifest text. */
  sourceText: string;
}

export interface DiscoveryProblem {
  kind: 'broken-file' | 'duplicate-id' | 'unreadable-dir';
  file: string;
  /** Where in `file` (1-based); absent for a directory that cannot be read. */
  line?: number;
  column?: number;
  /** What is wrong, without the position. */
  message: string;
}

export interface DiscoveryResult {
  tests: DiscoveredTest[];
  /** Files that failed to load and ids defined twice; discovery carries on past each. */
  problems: DiscoveryProblem[];
}

/** Loads every test under the suite directories; one broken file is a problem, never a stop. */
export async function discoverTests(
  dirs: readonly string[] = [DEFAULT_SUITES_DIR],
): Promise<DiscoveryResult> {
  const tests: DiscoveredTest[] = [];
  const problems: DiscoveryProblem[] = [];
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    let files: Awaited<ReturnType<typeof findSuiteFiles>>;
    try {
      files = await findSuiteFiles(dir);
    } catch (err) {
      problems.push({
        kind: 'unreadable-dir',
        file: dir,
        message: `cannot read suite directory: ${(err as Error).message}`,
      });
      continue;
    }
    const rootName = path.basename(path.resolve(dir));
    for (const { file, kind, relativeDir } of files) {
      let loaded: { definition: TestDefinition; sourceText: string }[];
      try {
        loaded = await loadFile(file, kind);
      } catch (err) {
        problems.push({ kind: 'broken-file', file, ...(await brokenFile(file, kind, err)) });
        continue;
      }
      for (const { definition, sourceText } of loaded) {
        const first = seen.get(definition.id);
        if (first !== undefined) {
          problems.push({
            kind: 'duplicate-id',
            file,
            ...(await idPosition(file, kind, definition.id)),
            message: `duplicate test id "${definition.id}": defined in ${first} and in ${file}`,
          });
          continue;
        }
        seen.set(definition.id, file);
        tests.push({ definition, kind, source: file, suite: relativeDir || rootName, sourceText });
      }
    }
  }
  return { tests, problems };
}

async function loadFile(
  file: string,
  kind: SuiteFileKind,
): Promise<{ definition: TestDefinition; sourceText: string }[]> {
  if (kind === 'manifest') {
    const text = await readFile(file, 'utf8');
    return [{ definition: loadManifestText(text, file), sourceText: text }];
  }
  // The file as written, not a body's compiled text: that depends on the loader (Vite under vitest, tsx in
  // devlab, and their versions), and a control plane and its agents must agree on a test's content hash.
  const [definitions, text] = await Promise.all([loadCodeTests(file), readFile(file, 'utf8')]);
  return definitions.map((definition) => ({ definition, sourceText: text }));
}

/** Where and why a suite file did not load: a manifest's own position, else found in the test file's source. */
async function brokenFile(
  file: string,
  kind: SuiteFileKind,
  err: unknown,
): Promise<SourcePosition & { message: string }> {
  if (err instanceof ManifestError) {
    const message = err.field === '' ? err.reason : `field ${err.field}: ${err.reason}`;
    return { line: err.line, column: err.column, message };
  }
  const message = explainLoadError(err instanceof Error ? err : new Error(String(err)));
  if (kind === 'manifest') return { line: 1, column: 1, message };
  const source = await readFile(file, 'utf8').catch(() => '');
  const { line, column, syntaxError } = await positionOfLoadError(file, source, err);
  return { line, column, message: syntaxError ?? message };
}

/** Where a file writes a test's id (a duplicate's second definition). */
async function idPosition(file: string, kind: SuiteFileKind, id: string): Promise<SourcePosition> {
  const source = await readFile(file, 'utf8');
  const offset =
    kind === 'manifest' ? Math.max(0, source.search(/^id\s*:/m)) : fieldOffset(source, id, ['id']);
  const { line, column } = locate(source, offset);
  return { line, column };
}

// tsx loads .ts as CommonJS unless the nearest package.json says "type": "module", and a CommonJS test file
// importing our ESM sources fails with an opaque require(esm) error.
function explainLoadError(err: Error): string {
  // The first line, without a loader's terminal colours: the position is given beside it.
  const message = stripVTControlCharacters(err.message).trim().split('\n')[0] ?? '';
  return /require\(\) ES Module|require\(esm\)/.test(message)
    ? `${message} (hint: put a package.json with "type": "module" at the root of this suite directory)`
    : message;
}
