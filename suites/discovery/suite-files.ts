import { readdir } from 'node:fs/promises';
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

export function suiteFileKind(name: string): SuiteFileKind | undefined {
  if (name.endsWith('.test-def.ts')) return 'code';
  if (name.endsWith('.manifest.yaml')) return 'manifest';
  return undefined;
}

/** Every test-definition and manifest file under `dir`, in a stable (sorted) order; symlinks are not followed. */
export async function findSuiteFiles(dir: string): Promise<SuiteFile[]> {
  const found: SuiteFile[] = [];
  const walk = async (relativeDir: string): Promise<void> => {
    const entries = await readdir(path.join(dir, relativeDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) await walk(relative);
        continue;
      }
      const kind = entry.isFile() ? suiteFileKind(entry.name) : undefined;
      if (kind !== undefined) found.push({ file: path.join(dir, relative), kind, relativeDir });
    }
  };
  await walk('');
  return found;
}
