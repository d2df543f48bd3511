import type { CompareOp, FieldRef, FieldScope, QueryNode, QueryValue } from './ast.ts';
import { locate, QueryError, type QuerySpan } from './errors.ts';
import { type Token, type TokenKind, tokenize } from './lexer.ts';

const COMPARE_OPS: Partial<Record<TokenKind, CompareOp>> = {
  colon: ':',
  eq: '=',
  ne: '!=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
};

const KEYWORDS = new Set(['and', 'or', 'not', 'in']);

/** Parentheses and `not` nest at most this deep, so a pathological query is an error, not a stack overflow. */
export const MAX_QUERY_DEPTH = 64;

function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === 'word' && token.text.toLowerCase() === keyword;
}

/**
 * Parses a query into an AST (recursive descent). Grammar:
 *   query   := orExpr? EOF
 *   orExpr  := andExpr ('or' andExpr)*
 *   andExpr := notExpr (('and')? notExpr)*       -- adjacent terms are joined by and
 *   notExpr := 'not' notExpr | '(' orExpr ')' | term
 *   term    := field (op value | 'in' '[' value (',' value)* ']')
 *   field   := word ('[' key '=' value (',' key '=' value)* ']')?
 */
export function parseQuery(source: string): QueryNode {
  return new Parser(source).parseAll();
}

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  parseAll(): QueryNode {
    if (this.peek().kind === 'eof') return { kind: 'all', span: { offset: 0, length: 0 } };
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'eof') {
      const what = next.kind === 'rparen' ? 'unmatched `)`' : `unexpected ${describe(next)}`;
      throw this.error(what, next);
    }
    return node;
  }

  private parseOr(): QueryNode {
    let left = this.parseAnd();
    while (isKeyword(this.peek(), 'or')) {
      this.next();
      const right = this.parseAnd();
      left = { kind: 'or', left, right, span: join(left.span, right.span) };
    }
    return left;
  }

  private parseAnd(): QueryNode {
    let left = this.parseNot();
    for (;;) {
      const token = this.peek();
      if (isKeyword(token, 'and')) {
        this.next();
      } else if (!this.startsTerm(token)) {
        return left;
      }
      const right = this.parseNot();
      left = { kind: 'and', left, right, span: join(left.span, right.span) };
    }
  }

  private startsTerm(token: Token): boolean {
    if (token.kind === 'lparen') return true;
    if (token.kind !== 'word') return false;
    const lower = token.text.toLowerCase();
    return lower === 'not' || !KEYWORDS.has(lower);
  }

  private parseNot(): QueryNode {
    const token = this.peek();
    if (this.depth >= MAX_QUERY_DEPTH) {
      throw this.error(`query nests more than ${MAX_QUERY_DEPTH} levels of parentheses and not`, token);
    }
    this.depth++;
    try {
      return this.parseNested(token);
    } finally {
      this.depth--;
    }
  }

  private parseNested(token: Token): QueryNode {
    if (isKeyword(token, 'not')) {
      this.next();
      const operand = this.parseNot();
      return { kind: 'not', operand, span: join(spanOf(token), operand.span) };
    }
    if (token.kind === 'lparen') {
      this.next();
      if (this.peek().kind === 'rparen')
        throw this.error('empty parentheses: expected a condition', this.peek());
      const inner = this.parseOr();
      const close = this.peek();
      if (close.kind !== 'rparen') {
        throw this.error(
          `expected \`)\` to close the \`(\` at ${where(this.source, token.offset)}, found ${describe(close)}`,
          close,
        );
      }
      this.next();
      return inner;
    }
    return this.parseTerm();
  }

  private parseTerm(): QueryNode {
    const field = this.parseField();
    const token = this.peek();
    if (isKeyword(token, 'in')) {
      this.next();
      return this.parseInList(field);
    }
    const op = COMPARE_OPS[token.kind];
    if (op === undefined) {
      throw this.error(
        `expected an operator after \`${field.name}\` (one of : = != < <= > >= in), found ${describe(token)}`,
        token,
      );
    }
    this.next();
    const value = this.parseValue(`a value after \`${field.name}${op}\``);
    return { kind: 'compare', field, op, value, span: join(field.span, value.span) };
  }

  private parseField(): FieldRef {
    const token = this.peek();
    if (token.kind !== 'word' || KEYWORDS.has(token.text.toLowerCase())) {
      throw this.error(`expected a field name, found ${describe(token)}`, token);
    }
    this.next();
    const scope: FieldScope[] = [];
    let end = spanOf(token);
    // Only a bracket touching the name is a scope, so `tags in [a]` and `x [` stay distinct.
    if (this.peek().kind === 'lbracket' && this.peek().offset === token.offset + token.length) {
      this.next();
      for (;;) {
        const key = this.peek();
        if (key.kind !== 'word')
          throw this.error(`expected a scope key (device, model, platform), found ${describe(key)}`, key);
        this.next();
        const eq = this.peek();
        if (eq.kind !== 'eq' && eq.kind !== 'colon')
          throw this.error(`expected \`=\` after scope key \`${key.text}\``, eq);
        this.next();
        const value = this.parseValue(`a value for scope key \`${key.text}\``);
        scope.push({ key: key.text, value, span: join(spanOf(key), value.span) });
        const sep = this.peek();
        if (sep.kind === 'comma') {
          this.next();
          continue;
        }
        if (sep.kind !== 'rbracket')
          throw this.error(`expected \`,\` or \`]\` in the scope of \`${token.text}\``, sep);
        this.next();
        end = spanOf(sep);
        break;
      }
    }
    return { name: token.text, scope, span: join(spanOf(token), end) };
  }

  private parseInList(field: FieldRef): QueryNode {
    const open = this.peek();
    if (open.kind !== 'lbracket')
      throw this.error(`expected \`[\` after \`in\`, found ${describe(open)}`, open);
    this.next();
    const values: QueryValue[] = [];
    for (;;) {
      values.push(this.parseValue('a value in the list'));
      const sep = this.peek();
      if (sep.kind === 'comma') {
        this.next();
        continue;
      }
      if (sep.kind !== 'rbracket')
        throw this.error(`expected \`,\` or \`]\` in the list, found ${describe(sep)}`, sep);
      this.next();
      return { kind: 'in', field, values, span: join(field.span, spanOf(sep)) };
    }
  }

  private parseValue(expected: string): QueryValue {
    const token = this.peek();
    const span = spanOf(token);
    if (token.kind === 'word' || token.kind === 'string') {
      this.next();
      return { kind: 'text', text: token.text, quoted: token.kind === 'string', span };
    }
    if (token.kind === 'regex') {
      this.next();
      return { kind: 'regex', text: token.text, flags: token.flags ?? '', quoted: false, span };
    }
    throw this.error(`expected ${expected}, found ${describe(token)}`, token);
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const token = this.tokens[this.pos]!;
    if (token.kind !== 'eof') this.pos++;
    return token;
  }

  private error(message: string, token: Token): QueryError {
    return new QueryError(this.source, message, spanOf(token));
  }
}

function where(source: string, offset: number): string {
  const { line, column } = locate(source, offset);
  return line === 1 ? `column ${column}` : `line ${line}, column ${column}`;
}

function spanOf(token: Token): QuerySpan {
  return { offset: token.offset, length: token.length };
}

function join(a: QuerySpan, b: QuerySpan): QuerySpan {
  const start = Math.min(a.offset, b.offset);
  return { offset: start, length: Math.max(a.offset + a.length, b.offset + b.length) - start };
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'the end of the query';
    case 'string':
      return `string "${token.text}"`;
    case 'regex':
      return `regex /${token.text}/`;
    default:
      return `\`${token.text}\``;
  }
}
