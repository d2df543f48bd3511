/** A stretch of the query text: 0-based `offset` and its `length` in characters. */
export interface QuerySpan {
  offset: number;
  length: number;
}

export interface QueryErrorDetails {
  /** Replacement the user probably meant, e.g. `tags` for `tgas`. */
  suggestion?: string;
}

/** A query that cannot be parsed or compiled; carries where and a caret line to show the user. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly length: number;
  /** The offending source line followed by a caret line under the offending token. */
  readonly caret: string;
  readonly suggestion: string | undefined;
  /** The message without position, e.g. "unknown field `tgas`". */
  readonly reason: string;

  constructor(source: string, reason: string, span: QuerySpan, details: QueryErrorDetails = {}) {
    const { line, column, lineText } = locate(source, span.offset);
    const hint = details.suggestion === undefined ? '' : ` (did you mean \`${details.suggestion}\`?)`;
    super(`${reason}${hint} at line ${line}, column ${column}`);
    this.reason = reason;
    this.line = line;
    this.column = column;
    this.offset = span.offset;
    this.length = Math.max(1, span.length);
    this.suggestion = details.suggestion;
    // The caret never runs past the end of the line, so a token spanning lines underlines only its start.
    const width = Math.max(1, Math.min(this.length, lineText.length - (column - 1)));
    // Tabs are kept in the indent so the caret lines up however the terminal renders them.
    const indent = lineText.slice(0, column - 1).replace(/[^\t]/g, ' ');
    this.caret = `${lineText}\n${indent}${'^'.repeat(width)}`;
  }

  /** Message, then the source line and the caret: what a CLI prints. */
  format(): string {
    return `${this.message}\n  ${this.caret.split('\n').join('\n  ')}`;
  }
}

/** 1-based line and column of a 0-based offset, with the text of that line. */
export function locate(source: string, offset: number): { line: number; column: number; lineText: string } {
  const clamped = Math.max(0, Math.min(offset, source.length));
  const before = source.slice(0, clamped);
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEndIndex = source.indexOf('\n', lineStart);
  const lineText = source.slice(lineStart, lineEndIndex === -1 ? source.length : lineEndIndex);
  return { line, column: clamped - lineStart + 1, lineText };
}

export function isQueryError(err: unknown): err is QueryError {
  return err instanceof QueryError;
}
