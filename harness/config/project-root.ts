import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `dir` that holds a package.json (devlab's own: the sources or dist/). */
function packageRootOf(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    if (existsSync(path.join(at, 'package.json'))) return at;
    if (path.dirname(at) === at) return dir;
  }
}

/**
 * devlab's package root: the checkout when run from the sources, the installed package folder
 * (`node_modules/devlab`) when run from the compiled `dist/`. APPIUM_HOME and the checkout's data dir live
 * under it.
 */
export const PROJECT_ROOT = packageRootOf(
  fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, ''),
);

/** Installed as a dependency of another project (a partner's repo), not run from a checkout. */
export const INSTALLED_AS_DEPENDENCY = PROJECT_ROOT.split(path.sep).includes('node_modules');

/**
 * The sibling module `name` (written without extension) of the module at `metaUrl`, with that module's own
 * extension: `.ts` from the sources, `.js` from the compiled `dist/`. For modules loaded by URL (helper
 * processes, workers), which the build's import rewriting does not reach.
 */
export function siblingModule(name: string, metaUrl: string): URL {
  const ext = new URL(metaUrl).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, metaUrl);
}
