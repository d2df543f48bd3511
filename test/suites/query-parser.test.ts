import { describe, expect, it } from 'vitest';
import type { QueryNode } from '../../suites/query/ast.ts';
import { tokenize } from '../../suites/query/lexer.ts';
import { parseQuery } from '../../suites/query/parser.ts';
import { referencedFields } from '../../suites/query/query.ts';

/** The AST as compact text, so precedence is visible. */
function show(node: QueryNode): string {
  switch (node.kind) {
    case 'all':
      return '*';
    case 'and':
    case 'or':
      return `(${show(node.left)} ${node.kind} ${show(node.right)})`;
    case 'not':
      return `(not ${show(node.operand)})`;
    case 'compare': {
      const scope = node.field.scope.map((s) => `${s.key}=${s.value.text}`).join(',');
      const value = node.value.kind === 'regex' ? `/${node.value.text}/${node.value.flags}` : node.value.text;
      return `${node.field.name}${scope ? `[${scope}]` : ''}${node.op}${value}`;
    }
    case 'in':
      return `${node.field.name} in [${node.values.map((v) => v.text).join('|')}]`;
  }
}

describe('lexer', () => {
  it('keeps ids, globs and versions as single words and decodes strings and regexes', () => {
    const tokens = tokenize('id:tv-4k-01 title:"a \\"b\\"" x:/a\\/b\\d/i fw>=T-KT-1250.5 n!=1 a<=b c<d');
    expect(tokens.map((t) => [t.kind, t.text])).toEqual([
      ['word', 'id'],
      ['colon', ':'],
      ['word', 'tv-4k-01'],
      ['word', 'title'],
      ['colon', ':'],
      ['string', 'a "b"'],
      ['word', 'x'],
      ['colon', ':'],
      ['regex', 'a/b\\d'],
      ['word', 'fw'],
      ['ge', '>='],
      ['word', 'T-KT-1250.5'],
      ['word', 'n'],
      ['ne', '!='],
      ['word', '1'],
      ['word', 'a'],
      ['le', '<='],
      ['word', 'b'],
      ['word', 'c'],
      ['lt', '<'],
      ['word', 'd'],
      ['eof', ''],
    ]);
    expect(tokens[8]?.flags).toBe('i');
  });
});

describe('parser', () => {
  it.each([
    ['', '*'],
    ['a:1 or b:2 and c:3', '(a:1 or (b:2 and c:3))'],
    ['(a:1 or b:2) and c:3', '((a:1 or b:2) and c:3)'],
    ['a:1 b:2 c:3', '((a:1 and b:2) and c:3)'],
    ['not a:1 and b:2', '((not a:1) and b:2)'],
    ['NOT (a:1 OR b:2)', '(not (a:1 or b:2))'],
    ['a in [x, "y z", 3]', 'a in [x|y z|3]'],
    ['failrate[device=tv-4k-01]>0.2', 'failrate[device=tv-4k-01]>0.2'],
    ['failrate[model="QN 90", platform=tizen]<=.5', 'failrate[model=QN 90,platform=tizen]<=.5'],
    ['title:/x y/i', 'title:/x y/i'],
    ['tag:and', 'tag:and'],
  ])('%s', (query, expected) => {
    expect(show(parseQuery(query))).toBe(expected);
  });

  it('records source spans for fields and values', () => {
    const node = parseQuery('  tag : smoke');
    expect(node.kind).toBe('compare');
    if (node.kind !== 'compare') return;
    expect(node.field.span).toEqual({ offset: 2, length: 3 });
    expect(node.value.span).toEqual({ offset: 8, length: 5 });
  });
});

describe('referencedFields', () => {
  it('lists each field a query mentions once', () => {
    expect(referencedFields('tag:a and (Flaky:true or not tag in [b]) failrate[device=x]>0')).toEqual([
      'tag',
      'flaky',
      'failrate',
    ]);
    expect(referencedFields('')).toEqual([]);
  });
});
