import { pathToFileURL } from 'node:url';
import { isTestDefinitionError } from '../definition-error.ts';
import { locate } from '../query/errors.ts';

/** 1-based line and column in a suite file. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Where a file went wrong, and the parser's own words when it is a syntax error. */
export interface LoadErrorPosition extends SourcePosition {
  syntaxError?: string;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const at = (source: string, offset: number): SourcePosition => {
  const { line, column } = locate(source, offset);
  return { line, column };
};

/**
 * Where a `*.test-def.ts` file went wrong, from what its import threw: a bad metadata field at the
 * field's key, a syntax error where the TypeScript parser stops, a missing package at its import, else
 * the file's own frame in the stack, else its first line.
 */
export async function positionOfLoadError(
  file: string,
  source: string,
  err: unknown,
): Promise<LoadErrorPosition> {
  if (isTestDefinitionError(err)) return at(source, fieldOffset(source, err.testId, err.field));
  const syntax = await syntaxErrorPosition(file, source);
  if (syntax !== undefined) return syntax;
  const message = err instanceof Error ? err.message : String(err);
  const missing = /Cannot find (?:package|module) ['"]([^'"]+)['"]/.exec(message)?.[1];
  const literal = missing === undefined ? -1 : literalOffset(source, missing);
  if (literal >= 0) return at(source, literal);
  return stackPosition(file, err) ?? { line: 1, column: 1 };
}

/** Where the test with `testId` writes `field`: the key of its deepest part that is written, else the test. */
export function fieldOffset(
  source: string,
  testId: string | undefined,
  field: readonly (string | number)[],
): number {
  const idAt = testId === undefined ? -1 : literalOffset(source, testId);
  const fallback = Math.max(0, source.search(/defineTest\s*\(|export\s+default/));
  // The test's object literal starts at the last `{` before its id; its keys are searched from there.
  let offset = idAt >= 0 ? Math.max(0, source.lastIndexOf('{', idAt)) : fallback;
  let found = offset;
  for (const segment of field) {
    if (typeof segment === 'number') continue;
    const key = new RegExp(`(?<![\\w$])(["']?)${escapeRegExp(segment)}\\1\\s*:`, 'g');
    key.lastIndex = offset;
    const match = key.exec(source);
    if (match === null) break;
    found = match.index;
    offset = match.index + match[0].length;
  }
  return found;
}

/** Offset of `text` written as a string literal, or -1. */
export function literalOffset(source: string, text: string): number {
  const match = new RegExp(`(["'\`])${escapeRegExp(text)}\\1`).exec(source);
  return match === null ? -1 : match.index;
}

/** Where esbuild (the TypeScript transform under tsx) stops parsing the file, or undefined when it parses. */
async function syntaxErrorPosition(file: string, source: string): Promise<LoadErrorPosition | undefined> {
  const { transform } = await import('esbuild');
  try {
    await transform(source, { loader: file.endsWith('.tsx') ? 'tsx' : 'ts', sourcefile: file });
    return undefined;
  } catch (err) {
    const first = (err as { errors?: EsbuildMessage[] }).errors?.[0];
    const location = first?.location;
    if (location == null) return undefined;
    // esbuild counts columns in UTF-8 bytes.
    const column = Buffer.from(location.lineText).subarray(0, location.column).toString().length + 1;
    return { line: location.line, column, syntaxError: `syntax error: ${first!.text}` };
  }
}

interface EsbuildMessage {
  text: string;
  location?: { line: number; column: number; lineText: string } | null;
}

/** The first stack frame in `file` (a file URL or path, with or without a cache-busting query). */
function stackPosition(file: string, err: unknown): SourcePosition | undefined {
  const stack = (err as { stack?: unknown } | null)?.stack;
  if (typeof stack !== 'string') return undefined;
  const names = [escapeRegExp(pathToFileURL(file).href), escapeRegExp(file)].join('|');
  const match = new RegExp(`(?:${names})(?:\\?[^:\\s)]*)?:(\\d+)(?::(\\d+))?`).exec(stack);
  if (match === null) return undefined;
  return { line: Number(match[1]), column: match[2] === undefined ? 1 : Number(match[2]) };
}
