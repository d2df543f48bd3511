import { type Catalog, loadCatalog } from '../../suites/catalog/catalog.ts';
import { compileTestQuery } from '../../suites/query/query.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { syncCatalog } from '../store/catalog-repo.ts';
import type { Store } from '../store/store.ts';
import { testHistoryAccessor } from './test-history.ts';

/**
 * The catalog as the control plane sees it: discovered from the suite folders, synced into the store
 * (content hashes keep history keyed by id), and queried with the store's history behind the history fields.
 */
export class LabCatalog {
  private constructor(
    readonly catalog: Catalog,
    private readonly store: Store,
  ) {}

  static async load(store: Store, dirs?: readonly string[]): Promise<LabCatalog> {
    const catalog = await loadCatalog(dirs);
    syncCatalog(store.db, catalog.entries);
    return new LabCatalog(catalog, store);
  }

  select(query: string): TestMeta[] {
    const history = testHistoryAccessor(
      this.store.history.finishedJobs({ sinceMs: Date.now() - 90 * 24 * 3600_000 }),
    );
    const matches = compileTestQuery(query, { history });
    return this.catalog.entries.filter(matches).map(({ definition: _d, ...meta }) => meta);
  }
}
