import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory(); // follows symlinks
  } catch {
    return false;
  }
}

/**
 * The suite folders one `suites:` entry of a config names, as absolute paths: the folder itself, or every
 * folder a glob (`packages/*\/devlab-tests`, `tests/**\/ui`) matches, in sorted order. Relative entries are
 * relative to `baseDir` (the config file's folder). Symlinked folders count as folders and are followed
 * (each real folder walked once, so a link cycle ends); `node_modules` and dot folders are not searched.
 * Empty when nothing matches: the caller says where the entry was written.
 */
export function expandSuiteEntry(entry: string, baseDir: string): string[] {
  const scan = picomatch.scan(entry);
  if (!scan.isGlob) {
    const dir = path.resolve(baseDir, entry);
    return isDirectory(dir) ? [dir] : [];
  }
  const base = path.resolve(baseDir, scan.base);
  const isMatch = picomatch(scan.glob);
  // Without `**`, a match is never deeper than the glob has segments.
  const maxDepth = scan.isGlobstar ? Number.POSITIVE_INFINITY : scan.glob.split('/').length;
  const found: string[] = [];
  const walked = new Set<string>();
  const walk = (relative: string, depth: number): void => {
    const dir = path.join(base, relative);
    const real = realpathSync(dir);
    if (walked.has(real)) return;
    walked.add(real);
    const names = readdirSync(dir).sort();
    for (const name of names) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const child = relative === '' ? name : `${relative}/${name}`;
      if (!isDirectory(path.join(base, child))) continue;
      if (isMatch(child)) found.push(path.join(base, child));
      if (depth + 1 < maxDepth) walk(child, depth + 1);
    }
  };
  if (isDirectory(base)) walk('', 0);
  return found;
}
