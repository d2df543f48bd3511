import { type Catalog, loadCatalog } from '../../suites/catalog/catalog.ts';
import { type CatalogCheck, checkCatalog } from '../../suites/catalog/load-problems.ts';
import type { TestHistoryAccessor } from '../../suites/query/history.ts';
import { suggestTerm } from '../../suites/query/no-match.ts';
import { compileTestQuery } from '../../suites/query/query.ts';
import { TEST_QUERY_FIELDS } from '../../suites/query/test-fields.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { syncCatalog } from '../store/catalog-repo.ts';
import type { Store } from '../store/store.ts';

/**
 * The catalog as the control plane sees it: discovered from the suite folders, synced into the store
 * (content hashes keep history keyed by id), and queried with the lab history behind the history fields.
 */
export class LabCatalog {
  private constructor(readonly catalog: Catalog) {}

  /**
   * Discovers the suite folders. A file that does not load is a SuiteLoadError (file:line:column of each)
   * unless `check.allowBroken`, which names each dropped file through `check.warn`.
   */
  static async discover(dirs?: readonly string[], check: CatalogCheck = {}): Promise<LabCatalog> {
    return new LabCatalog(checkCatalog(await loadCatalog(dirs), check));
  }

  /** `discover`, then `sync`. */
  static async load(store: Store, dirs?: readonly string[], check: CatalogCheck = {}): Promise<LabCatalog> {
    return (await LabCatalog.discover(dirs, check)).sync(store);
  }

  /** Writes the catalog's tests and hashes into the store. */
  sync(store: Store): this {
    syncCatalog(store.db, this.catalog.entries);
    return this;
  }

  /** The "did you mean" of a query that selected no test: `tag:smoke` for `tag:smok`. */
  suggest(query: string): string | undefined {
    return suggestTerm(query, TEST_QUERY_FIELDS, this.catalog.entries);
  }

  /** Tests matching `query`; its history fields read `history` (the lab history service's view). */
  select(query: string, history?: TestHistoryAccessor): TestMeta[] {
    const matches = compileTestQuery(query, history ? { history } : {});
    return this.catalog.entries.filter(matches).map(({ definition: _d, ...meta }) => meta);
  }
}
