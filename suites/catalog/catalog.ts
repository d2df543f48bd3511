import { type DiscoveryProblem, type DiscoveryResult, discoverTests } from '../discovery/discover-tests.ts';
import type { SuiteFileKind } from '../discovery/suite-files.ts';
import type { QueryableTest } from '../query/test-fields.ts';
import type { TestDefinition, TestMeta } from '../test-api.ts';
import { contentHash } from './content-hash.ts';

/** One test in the catalog: its metadata (queryable as is), where it came from, and its content hash. */
export interface CatalogEntry extends TestMeta, QueryableTest {
  suite: string;
  source: string;
  kind: SuiteFileKind;
  /**
   * sha256 of normalised metadata + the text of its file (test file or manifest): changes when the test or
   * its file changes, the same in every process that reads the file (jobs carry it; agents check it).
   */
  hash: string;
  definition: TestDefinition;
}

export interface Catalog {
  entries: CatalogEntry[];
  problems: DiscoveryProblem[];
  get(id: string): CatalogEntry | undefined;
}

export function buildCatalog(discovered: DiscoveryResult): Catalog {
  const entries = discovered.tests.map(({ definition, kind, source, suite, sourceText }): CatalogEntry => {
    const { body: _body, ...meta } = definition;
    return {
      id: meta.id,
      title: meta.title,
      tags: meta.tags,
      component: meta.component,
      owner: meta.owner,
      priority: meta.priority,
      timeoutMs: meta.timeoutMs,
      retries: meta.retries,
      requires: meta.requires,
      suite,
      source,
      kind,
      hash: contentHash(meta, sourceText),
      definition,
    };
  });
  const byId = new Map(entries.map((e) => [e.id, e]));
  return { entries, problems: discovered.problems, get: (id) => byId.get(id) };
}

/** Discovers the suite directories and builds their catalog. */
export async function loadCatalog(dirs?: readonly string[]): Promise<Catalog> {
  return buildCatalog(await discoverTests(dirs));
}
