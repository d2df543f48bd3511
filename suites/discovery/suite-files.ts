import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type SuiteFileKind = 'code' | 'manifest';

export interface SuiteFile {
  /** Path as found: the suite directory joined with the relative path. */
  file: string;
  kind: SuiteFileKind;
  /** Directory of the file relative to the suite directory, `/`-separated; '' at the top. */
  relativeDir: string;
}

// reference-app is the app under test, not tests; dot folders hold tooling state.
const SKIPPED_DIRS = new Set(['node_modules', 'reference-app']);

/** Test files: TypeScript, or JavaScript (what a compiled suite, such as devlab's own dist/, holds). */
const CODE_SUFFIXES = ['.test-def.ts', '.test-def.mts', '.test-def.js', '.test-def.mjs'];

export function suiteFileKind(name: string): SuiteFileKind | undefined {
  if (CODE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return 'code';
  if (name.endsWith('.manifest.yaml')) return 'manifest';
  return undefined;
}

/**
 * Every test-definition and manifest file under `dir`, in a stable (sorted) order. Symlinks are followed (a
 * suite folder linked in from another repo), each real folder walked once so that a link cycle ends.
 */
export async function findSuiteFiles(dir: string): Promise<SuiteFile[]> {
  const found: SuiteFile[] = [];
  const walked = new Set<string>();
  const walk = async (relativeDir: string): Promise<void> => {
    const real = await realpath(path.join(dir, relativeDir));
    if (walked.has(real)) return;
    walked.add(real);
    const entries = await readdir(path.join(dir, relativeDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      const target = entry.isSymbolicLink() ? await linkTarget(path.join(dir, relative), entry.name) : entry;
      if (target?.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) await walk(relative);
        continue;
      }
      const kind = target?.isFile() ? suiteFileKind(entry.name) : undefined;
      if (kind !== undefined) found.push({ file: path.join(dir, relative), kind, relativeDir });
    }
  };
  await walk('');
  return found;
}

/**
 * What a symlink points at; null for a dangling link to anything but a suite file (nothing of ours is
 * lost), an error for a dangling test or manifest file link (its tests would be missing).
 */
async function linkTarget(link: string, name: string): Promise<Stats | null> {
  try {
    return await stat(link);
  } catch (err) {
    if (suiteFileKind(name) === undefined) return null;
    throw new Error(`${link}: the suite file link points nowhere (${(err as Error).message})`);
  }
}
