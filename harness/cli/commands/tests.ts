import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type Catalog, type CatalogEntry, loadCatalog } from '../../../suites/catalog/catalog.ts';
import { checkCatalog, SuiteLoadError } from '../../../suites/catalog/load-problems.ts';
import { isManifestTest } from '../../../suites/manifest/load-manifest.ts';
import { compileTestQuery, isQueryError, referencedFields } from '../../../suites/query/query.ts';
import type { TestHistoryAccessor } from '../../../suites/query/history.ts';
import { suggest } from '../../../suites/query/suggestions.ts';
import { loadConfig } from '../../config/config.ts';
import { LabHistory } from '../../history/lab-history.ts';
import { storePath } from '../../store/database.ts';
import { Store } from '../../store/store.ts';

interface SuitesOption {
  suites: string[];
  allowBroken?: boolean;
}

interface ListOptions extends SuitesOption {
  query?: string;
  json?: boolean;
}

interface ShowOptions extends SuitesOption {
  json?: boolean;
}

const HISTORY_FIELDS = new Set(['flaky', 'last_verdict', 'failrate', 'failed_in_last']);

/** Field names of a query, or none when it does not parse (compiling reports the error with its caret). */
function safeReferencedFields(query: string): string[] {
  try {
    return referencedFields(query);
  } catch {
    return [];
  }
}

/** The history fields read the lab store under the data dir (its history window), when it has finished runs. */
function storeHistory(): TestHistoryAccessor | undefined {
  const config = loadConfig();
  const file = storePath(config.home);
  if (!existsSync(file)) return undefined;
  const store = Store.open(file);
  try {
    const history = new LabHistory(store, config.history);
    return history.load().rows > 0 ? history.queryHistory() : undefined;
  } finally {
    store.close();
  }
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `devlab tests list|show`: the catalog from the suite directories, filtered by the query language. */
export function registerTestsCommands(program: Command): void {
  const tests = program.command('tests').description('the test catalog: list and inspect tests');

  tests
    .command('list')
    .description('list tests, optionally filtered by a query (see suites/query/README.md)')
    .option('-q, --query <query>', 'filter, e.g. "tag:smoke and priority>=2"')
    .option(
      '--suites <dir>',
      'suite directory to load (repeatable; default: suites of the config, else suites/)',
      collect,
      [],
    )
    .option('--allow-broken', ALLOW_BROKEN)
    .option('--json', 'print JSON instead of a table')
    .action(async (options: ListOptions) => {
      let predicate: (entry: CatalogEntry) => boolean;
      const historyFields = safeReferencedFields(options.query ?? '').filter((f) => HISTORY_FIELDS.has(f));
      const history = historyFields.length > 0 ? storeHistory() : undefined;
      try {
        predicate = compileTestQuery<CatalogEntry>(options.query ?? '', history ? { history } : {});
      } catch (err) {
        if (!isQueryError(err)) throw err;
        process.stderr.write(`devlab: invalid query: ${err.format()}\n`);
        process.exitCode = 2;
        return;
      }
      if (historyFields.length > 0 && !history) {
        // Without a note, `flaky:true` selecting nothing would look like a fact.
        process.stderr.write(
          `note: no run history in the store yet; ${historyFields.join(', ')} read as absent\n`,
        );
      }
      const catalog = await loadSuites(options);
      if (!catalog) return;
      const matching = catalog.entries.filter(predicate);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(matching.map(toJson), null, 2)}\n`);
        return;
      }
      process.stdout.write(
        renderTable(
          ['ID', 'TITLE', 'COMPONENT', 'PRIORITY', 'TAGS'],
          matching.map((e) => [e.id, e.title, e.component, String(e.priority), e.tags.join(',')]),
        ),
      );
      process.stdout.write(`${matching.length} of ${catalog.entries.length} tests\n`);
    });

  tests
    .command('show')
    .description('show one test: metadata, requirements, source and content hash')
    .argument('<id>', 'test id')
    .option(
      '--suites <dir>',
      'suite directory to load (repeatable; default: suites of the config, else suites/)',
      collect,
      [],
    )
    .option('--allow-broken', ALLOW_BROKEN)
    .option('--json', 'print JSON')
    .action(async (id: string, options: ShowOptions) => {
      const catalog = await loadSuites(options);
      if (!catalog) return;
      const entry = catalog.get(id);
      if (entry === undefined) {
        const guess = suggest(
          id,
          catalog.entries.map((e) => e.id),
        );
        process.stderr.write(
          `devlab: no test with id "${id}"${guess ? ` (did you mean "${guess}"?)` : ''}\n`,
        );
        process.exitCode = 1;
        return;
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(toJson(entry), null, 2)}\n`);
        return;
      }
      process.stdout.write(renderEntry(entry));
    });
}

const ALLOW_BROKEN =
  'list the tests of the files that load, naming each dropped file on stderr; by default a suite file that does not load fails the command (exit 2)';

/** The catalog; null after printing file:line:column of each file that did not load (exit 2). */
async function loadSuites(options: SuitesOption): Promise<Catalog | null> {
  const catalog = await loadCatalog(options.suites.length > 0 ? options.suites : loadConfig().suites);
  try {
    return checkCatalog(catalog, {
      ...(options.allowBroken ? { allowBroken: true } : {}),
      warn: (line) => process.stderr.write(`${line}\n`),
      displayPath,
    });
  } catch (err) {
    if (!(err instanceof SuiteLoadError)) throw err;
    process.stderr.write(`devlab: ${err.message}\n`);
    process.exitCode = 2;
    return null;
  }
}

function toJson(entry: CatalogEntry): Record<string, unknown> {
  const { definition, ...rest } = entry;
  return isManifestTest(definition) ? { ...rest, container: definition.container } : rest;
}

function renderEntry(entry: CatalogEntry): string {
  const rows: [string, string][] = [
    ['id', entry.id],
    ['title', entry.title],
    ['suite', entry.suite],
    ['component', entry.component],
    ['owner', entry.owner],
    ['priority', String(entry.priority)],
    ['tags', entry.tags.join(', ')],
    ['timeout', `${entry.timeoutMs} ms`],
    ['retries', String(entry.retries)],
    ['requires', JSON.stringify(entry.requires)],
    ['kind', entry.kind],
    ['source', displayPath(entry.source)],
    ['hash', entry.hash],
  ];
  if (isManifestTest(entry.definition)) {
    const { image, command, results } = entry.definition.container;
    rows.push(['image', image ?? "the device's"], ['command', command.join(' ')], ['results', results]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('');
}

function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()}\n`;
  return [header, ...rows].map(line).join('');
}

/** Relative to the working directory when inside it, else as given. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
