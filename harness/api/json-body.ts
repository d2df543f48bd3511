import { errorCodes, type FastifyInstance } from 'fastify';
import { RequestError } from '../errors.ts';

/**
 * The path of the first key of a parsed JSON value that names a prototype: a `__proto__` key, or a
 * `constructor` object with a `prototype` key (what Fastify's secure-json-parse refuses, with the place).
 * Breadth first without recursion: a body nested 100,000 levels deep costs no stack.
 */
export function prototypeKeyPath(value: unknown): string[] | null {
  if (typeof value !== 'object' || value === null) return null;
  const nodes: object[] = [value];
  const parents: number[] = [-1];
  const keys: string[] = [''];
  const pathTo = (index: number, ...tail: string[]): string[] => {
    const reversed = tail.reverse();
    for (let i = index; i > 0; i = parents[i]!) reversed.push(keys[i]!);
    return reversed.reverse();
  };
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (!Array.isArray(node)) {
      if (Object.hasOwn(node, '__proto__')) return pathTo(i, '__proto__');
      const ctor: unknown = Object.hasOwn(node, 'constructor')
        ? (node as { constructor: unknown }).constructor
        : undefined;
      if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype'))
        return pathTo(i, 'constructor', 'prototype');
    }
    for (const [key, child] of Object.entries(node)) {
      if (typeof child !== 'object' || child === null) continue;
      nodes.push(child);
      parents.push(i);
      keys.push(key);
    }
  }
  return null;
}

/**
 * The JSON body parser: Fastify's (a leading BOM skipped, the same errors for an empty or malformed body),
 * except that a key which could reach an object's prototype is a 400 that says which key and where
 * (Fastify's own answer called such a body "not valid JSON").
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.length === 0) {
      done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
      return;
    }
    const path = prototypeKeyPath(value);
    if (path === null) {
      done(null, value);
      return;
    }
    const field = path.join('.');
    const what =
      path.at(-1) === '__proto__' ? 'a "__proto__" key' : 'a "constructor" object with a "prototype" key';
    done(
      new RequestError(
        field,
        `${field}: ${what} is not accepted in a JSON body (it names an object's prototype)`,
      ),
      undefined,
    );
  });
}
