import { pathToFileURL } from 'node:url';

type ScopedImport = (specifier: string, parentURL: string) => Promise<unknown>;

/**
 * Under vitest, Vite compiles every TypeScript module itself (as an ES module, whatever the package says).
 * Known by what Vite adds to `import.meta` (not by VITEST, which a devlab process started by a test inherits).
 */
const VITE_COMPILES_TS = (import.meta as { env?: unknown }).env !== undefined;

let scoped: Promise<ScopedImport> | undefined;

/**
 * tsx's loaders (ES module and CommonJS), registered once per process in a namespace of their own: they
 * compile test files and what they import, and nothing of devlab's (the installed devlab is compiled
 * JavaScript; in a checkout, tsx already runs devlab's sources).
 */
function tsxImport(): Promise<ScopedImport> {
  scoped ??= (async () => {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    const namespace = 'devlab-test-files';
    cjs.register({ namespace });
    return esm.register({ namespace }).import;
  })();
  return scoped;
}

/**
 * Imports a test file. `version` (its mtime) is part of the module URL, so a re-scan in a long-lived process
 * sees an edited file while unchanged files stay cached.
 *
 * A TypeScript file goes through tsx: as an ES module, or as CommonJS outside a `"type": "module"` package
 * (as Node reads a `.js` there); bare imports (`devlab`, `expect`) resolve from the test file's folder, so a
 * partner's repo reaches the devlab it installed. A JavaScript file is a plain `import()`.
 */
export async function importTestModule(file: string, version: number): Promise<{ default?: unknown }> {
  const url = `${pathToFileURL(file).href}?mtime=${Math.round(version)}`;
  if (!/\.[cm]?ts$/.test(file)) return (await import(url)) as { default?: unknown };
  // Vite picks the transform by the end of the module id, query included.
  if (VITE_COMPILES_TS) return (await import(`${url}&as=.ts`)) as { default?: unknown };
  return commonJsInterop((await (await tsxImport())(url, import.meta.url)) as { default?: unknown });
}

/**
 * A test file read as CommonJS comes back as `{ default: exports }`, its `export default` compiled to
 * `exports.default` (flagged `__esModule`): that inner `default` is the file's default export.
 */
function commonJsInterop(ns: { default?: unknown }): { default?: unknown } {
  const exports = ns.default as { __esModule?: unknown; default?: unknown } | null | undefined;
  return typeof exports === 'object' &&
    exports !== null &&
    exports.__esModule === true &&
    'default' in exports
    ? { default: exports.default }
    : ns;
}
