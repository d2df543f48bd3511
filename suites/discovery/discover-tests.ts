import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifestText } from '../manifest/load-manifest.ts';
import type { TestDefinition } from '../test-api.ts';
import { loadCodeTests } from './load-code-tests.ts';
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
        problems.push({ kind: 'broken-file', file, message: explainLoadError(err as Error) });
        continue;
      }
      for (const { definition, sourceText } of loaded) {
        const first = seen.get(definition.id);
        if (first !== undefined) {
          problems.push({
            kind: 'duplicate-id',
            file,
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
  const definitions = await loadCodeTests(file);
  return definitions.map((definition) => ({ definition, sourceText: definition.body.toString() }));
}

// tsx loads .ts as CommonJS unless the nearest package.json says "type": "module", and a CommonJS test file
// importing our ESM sources fails with an opaque require(esm) error.
function explainLoadError(err: Error): string {
  const message = err.message;
  return /require\(\) ES Module|require\(esm\)/.test(message)
    ? `${message} (hint: put a package.json with "type": "module" at the root of this suite directory)`
    : message;
}
