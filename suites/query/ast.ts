import type { QuerySpan } from './errors.ts';

export type CompareOp = ':' | '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface QueryValue {
  kind: 'text' | 'regex';
  /** The word or string as written (unquoted), or the regex pattern. */
  text: string;
  /** Regex flags; only for `regex` values. */
  flags?: string;
  /** Quoted strings are never globs: `title:"a*b"` matches the literal text. */
  quoted: boolean;
  span: QuerySpan;
}

/** `failrate[device=tv-4k-01]`: narrows a history field to runs on a device, model or platform. */
export interface FieldScope {
  key: string;
  value: QueryValue;
  span: QuerySpan;
}

export interface FieldRef {
  /** As written, before alias resolution. */
  name: string;
  scope: FieldScope[];
  span: QuerySpan;
}

export type QueryNode =
  | { kind: 'all'; span: QuerySpan }
  | { kind: 'and'; left: QueryNode; right: QueryNode; span: QuerySpan }
  | { kind: 'or'; left: QueryNode; right: QueryNode; span: QuerySpan }
  | { kind: 'not'; operand: QueryNode; span: QuerySpan }
  | { kind: 'compare'; field: FieldRef; op: CompareOp; value: QueryValue; span: QuerySpan }
  | { kind: 'in'; field: FieldRef; values: QueryValue[]; span: QuerySpan };
