import { type Catalog, loadCatalog } from '../../suites/catalog/catalog.ts';
import type { TestHistoryAccessor } from '../../suites/query/history.ts';
import { compileTestQuery } from '../../suites/query/query.ts';
import type { TestMeta } from '../../suites/test-api.ts';
import { syncCatalog } from '../store/catalog-repo.ts';
import type { Store } from '../store/store.ts';

/**
 * The catalog as the control plane sees it: discovered from the suite folders, synced into the store
 * (content hashes keep history keyed by id), and queried with the lab history behind the history fields.
 */
export class LabCatalog {
  private constructor(readonly catalog: Catalog) {}

  static async load(store: Store, dirs?: readonly string[]): Promise<LabCatalog> {
    const catalog = await loadCatalog(dirs);
    syncCatalog(store.db, catalog.entries);
    return new LabCatalog(catalog);
  }

  /** Tests matching `query`; its history fields read `history` (the lab history service's view). */
  select(query: string, history?: TestHistoryAccessor): TestMeta[] {
    const matches = compileTestQuery(query, history ? { history } : {});
    return this.catalog.entries.filter(matches).map(({ definition: _d, ...meta }) => meta);
  }
}
