import { RE2JS } from 're2js';
import { RESOLUTIONS, type Resolution, resolutionRank } from '../../devices/capabilities.ts';
import { drmLevelRank, knownDrmLevels } from '../drm-levels.ts';
import type { CompareOp, QueryValue } from './ast.ts';
import type { FieldKind } from './field-registry.ts';
import { suggest } from './suggestions.ts';
import { compareVersions } from './version-compare.ts';

/** Tests one field value (never the list itself: lists apply it per element). */
export type ValueMatcher = (value: unknown) => boolean;

/** Why a value or operator does not fit a field; the compiler positions it. */
export class MatcherProblem {
  constructor(
    readonly message: string,
    readonly suggestion?: string,
  ) {}
}

type OrderOp = '<' | '<=' | '>' | '>=';

function ordered(op: OrderOp, diff: number): boolean {
  switch (op) {
    case '<':
      return diff < 0;
    case '<=':
      return diff <= 0;
    case '>':
      return diff > 0;
    case '>=':
      return diff >= 0;
  }
}

/**
 * Regexes and globs of queries run on RE2 (`re2js`: pure JavaScript, so nothing to build or download):
 * matching is linear in the text whatever the pattern, so no query can stall the control plane by
 * backtracking (`title:/(.|.){1,22}Z/` took JavaScript's engine 13 s). RE2 has no backreferences or
 * lookaround; such a pattern is a clear error instead. Patterns are bounded in length.
 */
export const MAX_PATTERN_LENGTH = 256;

const RE2_FLAGS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  // RE2 matches code points: `u` changes nothing.
  u: 0,
};

function compileRe2(pattern: string, flags: string): RE2JS | MatcherProblem {
  if (pattern.length > MAX_PATTERN_LENGTH)
    return new MatcherProblem(
      `a pattern is at most ${MAX_PATTERN_LENGTH} characters, this one ${pattern.length}`,
    );
  let bits = 0;
  for (const f of flags) bits |= RE2_FLAGS[f] ?? 0;
  try {
    return RE2JS.compile(pattern, bits);
  } catch (err) {
    return new MatcherProblem(
      `invalid regex (RE2 syntax: no backreferences or lookaround): ${(err as Error).message}`,
    );
  }
}

function globToRegExp(glob: string): RE2JS | MatcherProblem {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return compileRe2(`^${body}$`, 'is');
}

function isGlob(value: QueryValue): boolean {
  return !value.quoted && /[*?]/.test(value.text);
}

function regexOf(value: QueryValue): RE2JS | MatcherProblem {
  return compileRe2(value.text, value.flags ?? '');
}

/** `:` and `=` on text: regex, glob (only with `:`), case-insensitive (`:`) or exact (`=`) equality. */
function textMatcher(op: ':' | '=', value: QueryValue): ValueMatcher | MatcherProblem {
  if (value.kind === 'regex') {
    const re = regexOf(value);
    if (re instanceof MatcherProblem) return re;
    return (v) => (typeof v === 'string' || typeof v === 'number') && re.test(String(v));
  }
  if (op === ':' && isGlob(value)) {
    const re = globToRegExp(value.text);
    if (re instanceof MatcherProblem) return re;
    return (v) => (typeof v === 'string' || typeof v === 'number') && re.test(String(v));
  }
  if (op === '=') {
    const exact = value.text;
    return (v) => v === exact || (typeof v === 'number' && String(v) === exact);
  }
  const lower = value.text.toLowerCase();
  return (v) =>
    (typeof v === 'string' && v.length === lower.length && v.toLowerCase() === lower) ||
    (typeof v === 'number' && String(v) === lower);
}

function noRegex(kind: string, value: QueryValue): MatcherProblem | undefined {
  return value.kind === 'regex' ? new MatcherProblem(`a regex cannot match a ${kind} field`) : undefined;
}

function numberMatcher(op: Exclude<CompareOp, '!='>, value: QueryValue): ValueMatcher | MatcherProblem {
  const bad = noRegex('number', value);
  if (bad) return bad;
  const n = Number(value.text);
  if (value.text.trim() === '' || !Number.isFinite(n))
    return new MatcherProblem(`expected a number, not \`${value.text}\``);
  if (op === ':' || op === '=') return (v) => v === n;
  return (v) => typeof v === 'number' && !Number.isNaN(v) && ordered(op, v - n);
}

function boolMatcher(op: Exclude<CompareOp, '!='>, value: QueryValue): ValueMatcher | MatcherProblem {
  const bad = noRegex('true/false', value);
  if (bad) return bad;
  if (op !== ':' && op !== '=') return new MatcherProblem(`\`${op}\` does not apply to a true/false field`);
  const text = value.text.toLowerCase();
  if (text !== 'true' && text !== 'false') {
    return new MatcherProblem(
      `expected true or false, not \`${value.text}\``,
      suggest(text, ['true', 'false']),
    );
  }
  const wanted = text === 'true';
  return (v) => v === wanted;
}

function versionMatcher(op: Exclude<CompareOp, '!='>, value: QueryValue): ValueMatcher | MatcherProblem {
  if (op === ':' || op === '=') return textMatcher(op, value);
  const bad = noRegex(`\`${op}\``, value);
  if (bad) return bad;
  const bound = value.text;
  return (v) => typeof v === 'string' && ordered(op, compareVersions(v, bound));
}

function stringOrderMatcher(op: OrderOp, value: QueryValue): ValueMatcher | MatcherProblem {
  const bad = noRegex(`\`${op}\``, value);
  if (bad) return bad;
  const bound = value.text;
  return (v) => typeof v === 'string' && ordered(op, v < bound ? -1 : v > bound ? 1 : 0);
}

function resolutionMatcher(op: Exclude<CompareOp, '!='>, value: QueryValue): ValueMatcher | MatcherProblem {
  const bad = noRegex('resolution', value);
  if (bad) return bad;
  const known = RESOLUTIONS.find((r) => r === value.text.toLowerCase());
  if (known === undefined) {
    return new MatcherProblem(
      `unknown resolution \`${value.text}\` (one of ${RESOLUTIONS.join(', ')})`,
      suggest(value.text, RESOLUTIONS),
    );
  }
  const rank = resolutionRank(known);
  const rankOf = (v: unknown): number =>
    typeof v === 'string' ? RESOLUTIONS.indexOf(v.toLowerCase() as Resolution) : -1;
  if (op === ':' || op === '=') return (v) => rankOf(v) === rank;
  return (v) => {
    const have = rankOf(v);
    return have !== -1 && ordered(op, have - rank);
  };
}

function drmLevelMatcher(
  op: Exclude<CompareOp, '!='>,
  value: QueryValue,
  system: string,
): ValueMatcher | MatcherProblem {
  if (op === ':' || op === '=') return textMatcher(':', value);
  const bad = noRegex(`\`${op}\``, value);
  if (bad) return bad;
  const levels = knownDrmLevels(system);
  if (levels.length === 0) return new MatcherProblem(`no known level order for DRM system \`${system}\``);
  const rank = drmLevelRank(system, value.text);
  if (rank === undefined) {
    return new MatcherProblem(
      `unknown ${system} level \`${value.text}\` (one of ${levels.join(', ')})`,
      suggest(value.text, levels),
    );
  }
  return (v) => {
    const have = typeof v === 'string' ? drmLevelRank(system, v) : undefined;
    return have !== undefined && ordered(op, have - rank);
  };
}

/** Builds the test for one value of a field of `kind`; `!=` is handled by the caller as not `=`. */
export function valueMatcher(
  kind: FieldKind,
  op: Exclude<CompareOp, '!='>,
  value: QueryValue,
  drmSystem = '',
): ValueMatcher | MatcherProblem {
  switch (kind) {
    case 'string':
    case 'list':
      return op === ':' || op === '=' ? textMatcher(op, value) : stringOrderMatcher(op, value);
    case 'number':
      return numberMatcher(op, value);
    case 'bool':
      return boolMatcher(op, value);
    case 'version':
      return versionMatcher(op, value);
    case 'resolution':
      return resolutionMatcher(op, value);
    case 'drm-level':
      return drmLevelMatcher(op, value, drmSystem);
  }
}
