import { QueryError } from './errors.ts';

export type TokenKind =
  | 'word'
  | 'string'
  | 'regex'
  | 'lparen'
  | 'rparen'
  | 'lbracket'
  | 'rbracket'
  | 'comma'
  | 'colon'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** Decoded text: the word, the unquoted string, or the regex pattern. */
  text: string;
  /** Regex flags, for `regex` tokens. */
  flags?: string;
  offset: number;
  length: number;
}

const PUNCTUATION: Record<string, TokenKind> = {
  '(': 'lparen',
  ')': 'rparen',
  '[': 'lbracket',
  ']': 'rbracket',
  ',': 'comma',
  ':': 'colon',
  '=': 'eq',
};

// Characters that end a bare word; everything else (letters, digits, . - _ * ? / and so on) belongs to it,
// so ids like `tv-4k-01` and globs like `stb.*` need no quotes.
const WORD_BREAK = new Set([
  ' ',
  '\t',
  '\n',
  '\r',
  '(',
  ')',
  '[',
  ']',
  ',',
  ':',
  '=',
  '!',
  '<',
  '>',
  '"',
  "'",
]);

// g and y would make RegExp.test stateful across entries, so they are not offered.
const REGEX_FLAGS = /^[imsu]*$/;

/** Splits a query into tokens; the last token is always `eof`. Throws QueryError on a bad character. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    const punct = PUNCTUATION[ch];
    if (punct !== undefined) {
      tokens.push({ kind: punct, text: ch, offset: i, length: 1 });
      i++;
      continue;
    }
    if (ch === '!' || ch === '<' || ch === '>') {
      const twoChar = source[i + 1] === '=';
      if (ch === '!' && !twoChar) {
        throw new QueryError(source, 'unexpected `!`: use `!=` to compare or `not` to negate', {
          offset: i,
          length: 1,
        });
      }
      const kind: TokenKind =
        ch === '!' ? 'ne' : ch === '<' ? (twoChar ? 'le' : 'lt') : twoChar ? 'ge' : 'gt';
      const length = twoChar ? 2 : 1;
      tokens.push({ kind, text: source.slice(i, i + length), offset: i, length });
      i += length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      i = readString(source, i, ch, tokens);
      continue;
    }
    if (ch === '/') {
      i = readRegex(source, i, tokens);
      continue;
    }
    const start = i;
    while (i < source.length && !WORD_BREAK.has(source[i]!)) i++;
    tokens.push({ kind: 'word', text: source.slice(start, i), offset: start, length: i - start });
  }
  tokens.push({ kind: 'eof', text: '', offset: source.length, length: 0 });
  return tokens;
}

function readString(source: string, start: number, quote: string, tokens: Token[]): number {
  let i = start + 1;
  let text = '';
  while (i < source.length && source[i] !== quote) {
    if (source[i] === '\\' && i + 1 < source.length) {
      text += source[i + 1];
      i += 2;
    } else {
      text += source[i];
      i++;
    }
  }
  if (i >= source.length) {
    throw new QueryError(source, `unterminated string: missing closing ${quote}`, {
      offset: start,
      length: 1,
    });
  }
  tokens.push({ kind: 'string', text, offset: start, length: i + 1 - start });
  return i + 1;
}

function readRegex(source: string, start: number, tokens: Token[]): number {
  let i = start + 1;
  let pattern = '';
  while (i < source.length && source[i] !== '/' && source[i] !== '\n') {
    // Keep the backslash: `\/` is an escaped slash and `\d` must reach RegExp unchanged.
    if (source[i] === '\\' && i + 1 < source.length) {
      pattern += source[i + 1] === '/' ? '/' : source.slice(i, i + 2);
      i += 2;
    } else {
      pattern += source[i];
      i++;
    }
  }
  if (source[i] !== '/') {
    throw new QueryError(source, 'unterminated regex: missing closing /', { offset: start, length: 1 });
  }
  i++;
  const flagsStart = i;
  while (i < source.length && /[a-z]/i.test(source[i]!)) i++;
  const flags = source.slice(flagsStart, i);
  if (!REGEX_FLAGS.test(flags)) {
    throw new QueryError(source, `unknown regex flags \`${flags}\` (allowed: i, m, s, u)`, {
      offset: flagsStart,
      length: flags.length,
    });
  }
  tokens.push({ kind: 'regex', text: pattern, flags, offset: start, length: i - start });
  return i;
}
