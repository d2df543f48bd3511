import type { CompareOp, QueryValue } from './ast.ts';
import type { HistoryScope, TestHistoryAccessor } from './history.ts';

/**
 * How a field compares: `string` (case-insensitive `:`, globs, regex), `list` (contains), `number`, `bool`,
 * `version` (firmware/os order), `resolution` (480p < ... < 2160p), `drm-level` (L1 > L2 > L3).
 */
export type FieldKind = 'string' | 'list' | 'number' | 'bool' | 'version' | 'resolution' | 'drm-level';

export interface FieldArgs {
  scope: HistoryScope;
  history: TestHistoryAccessor | undefined;
}

interface FieldBase {
  name: string;
  description: string;
  /** Scope keys accepted in `name[key=value]`; none when absent. */
  scopeKeys?: readonly string[];
}

/** A field read from the entity and compared by its kind's rules. */
export interface ValueField<T> extends FieldBase {
  kind: FieldKind;
  /** For `drm-level`: the DRM system whose level order applies. */
  drmSystem?: string;
  /** Reads the value; must not throw on odd data, and returns undefined when absent. */
  read(entity: T, args: FieldArgs): unknown;
}

/** A field with its own comparison, e.g. `failed_in_last:5` whose value is a window, not a datum. */
export interface CustomField<T> extends FieldBase {
  kind: 'custom';
  /** Returns the predicate, or an error message about the operator/value (positioned by the caller). */
  compile(op: CompareOp, value: QueryValue, args: FieldArgs): ((entity: T) => boolean) | string;
}

export type FieldDef<T> = ValueField<T> | CustomField<T>;

/** Field names become lookups, with aliases and families such as `caps.drm.<system>`. */
export interface FieldRegistry<T> {
  target: string;
  fields: ReadonlyMap<string, FieldDef<T>>;
  aliases: ReadonlyMap<string, string>;
  families: readonly { prefix: string; describe: string; make(suffix: string): FieldDef<T> | undefined }[];
}

export function createRegistry<T>(
  target: string,
  fields: FieldDef<T>[],
  aliases: Record<string, string> = {},
  families: FieldRegistry<T>['families'] = [],
): FieldRegistry<T> {
  return {
    target,
    fields: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
    aliases: new Map(Object.entries(aliases).map(([a, f]) => [a.toLowerCase(), f.toLowerCase()])),
    families,
  };
}

/** Field names are case-insensitive. */
export function lookupField<T>(registry: FieldRegistry<T>, name: string): FieldDef<T> | undefined {
  const lower = name.toLowerCase();
  const direct = registry.fields.get(registry.aliases.get(lower) ?? lower);
  if (direct !== undefined) return direct;
  for (const family of registry.families) {
    if (lower.startsWith(family.prefix) && lower.length > family.prefix.length) {
      return family.make(name.slice(family.prefix.length));
    }
  }
  return undefined;
}

/** Names to suggest for a typo: fields and aliases (families such as `caps.drm.<system>` accept any suffix). */
export function suggestableFieldNames<T>(registry: FieldRegistry<T>): string[] {
  return [...[...registry.fields.values()].map((f) => f.name), ...registry.aliases.keys()];
}
