import type { Requirements } from '../test-api.ts';
import type { CompareOp, QueryValue } from './ast.ts';
import { createRegistry, type FieldArgs, type FieldDef, type FieldRegistry } from './field-registry.ts';
import { HISTORY_SCOPE_KEYS } from './history.ts';

/** What test queries read: test metadata plus the suite it was found in (catalog entries fit). */
export interface QueryableTest {
  id: string;
  title: string;
  tags: string[];
  component: string;
  owner: string;
  priority: number;
  requires: Requirements;
  suite?: string;
}

function requires(test: QueryableTest): Requirements | undefined {
  const value: unknown = test?.requires;
  return typeof value === 'object' && value !== null ? (value as Requirements) : undefined;
}

/** `requires.hdr` as a list: `true` when any HDR is needed, plus the accepted formats; `false` when SDR is fine. */
function hdrTerms(test: QueryableTest): string[] {
  const hdr = requires(test)?.hdr;
  if (hdr === true) return ['true'];
  if (Array.isArray(hdr) && hdr.length > 0) return ['true', ...hdr];
  return ['false'];
}

/** The longest look-back of `failed_in_last`: the lab's history keeps this many recent runs per test. */
export const MAX_FAILED_IN_LAST = 50;

function failedInLast(
  op: CompareOp,
  value: QueryValue,
  args: FieldArgs,
): ((t: QueryableTest) => boolean) | string {
  if (op !== ':' && op !== '=') return '`failed_in_last` takes a run count with `:`, e.g. failed_in_last:5';
  const runs = Number(value.text);
  if (value.kind !== 'text' || !Number.isInteger(runs) || runs < 1) {
    return `\`failed_in_last\` needs a whole number of runs (1 or more), not \`${value.text}\``;
  }
  if (runs > MAX_FAILED_IN_LAST) {
    return `\`failed_in_last\` looks back at most ${MAX_FAILED_IN_LAST} runs, not ${runs}`;
  }
  const { history, scope } = args;
  return (test) => history?.failedInLast(test.id, runs, scope) === true;
}

const TEST_FIELDS: FieldDef<QueryableTest>[] = [
  { name: 'id', kind: 'string', description: 'stable test id', read: (t) => t?.id },
  { name: 'title', kind: 'string', description: 'test title', read: (t) => t?.title },
  { name: 'tags', kind: 'list', description: 'tags (alias: tag)', read: (t) => t?.tags },
  { name: 'component', kind: 'string', description: 'component under test', read: (t) => t?.component },
  { name: 'owner', kind: 'string', description: 'owning team or person', read: (t) => t?.owner },
  {
    name: 'priority',
    kind: 'number',
    description: '0 (lowest) to 3 (release blocker)',
    read: (t) => t?.priority,
  },
  { name: 'suite', kind: 'string', description: 'suite directory', read: (t) => t?.suite },
  {
    name: 'requires.codecs',
    kind: 'list',
    description: 'codecs the test needs',
    read: (t) => requires(t)?.codecs,
  },
  {
    name: 'requires.hdr',
    kind: 'list',
    description: 'true/false, or an HDR format the test accepts',
    read: hdrTerms,
  },
  {
    name: 'requires.minResolution',
    kind: 'resolution',
    description: 'minimum resolution the test needs',
    read: (t) => requires(t)?.minResolution,
  },
  {
    name: 'requires.drm',
    kind: 'string',
    description: 'DRM system the test needs',
    read: (t) => requires(t)?.drm?.system,
  },
  {
    name: 'requires.input',
    kind: 'string',
    description: 'input kind the test needs',
    read: (t) => requires(t)?.input,
  },
  {
    name: 'requires.drivers',
    kind: 'list',
    description: 'driver kinds the test runs on',
    read: (t) => requires(t)?.drivers,
  },
  {
    name: 'requires.minMemoryMb',
    kind: 'number',
    description: 'minimum device memory in MB',
    read: (t) => requires(t)?.minMemoryMb,
  },
  {
    name: 'flaky',
    kind: 'bool',
    description: 'history: the test is flaky',
    read: (t, { history }) => history?.isFlaky(t.id),
  },
  {
    name: 'last_verdict',
    kind: 'string',
    description: 'history: verdict of the latest run',
    scopeKeys: HISTORY_SCOPE_KEYS,
    read: (t, { history, scope }) => history?.lastVerdict(t.id, scope),
  },
  {
    name: 'failrate',
    kind: 'number',
    description: 'history: failed runs / runs, 0..1; scope with failrate[device=X], [model=X], [platform=X]',
    scopeKeys: HISTORY_SCOPE_KEYS,
    read: (t, { history, scope }) => history?.failRate(t.id, scope),
  },
  {
    name: 'failed_in_last',
    kind: 'custom',
    description: 'history: failed_in_last:N is true when any of the latest N runs failed',
    scopeKeys: HISTORY_SCOPE_KEYS,
    compile: failedInLast,
  },
];

export const TEST_QUERY_FIELDS: FieldRegistry<QueryableTest> = createRegistry('test', TEST_FIELDS, {
  tag: 'tags',
});
