import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../harness/config/project-root.ts';
import { storePath } from '../../../harness/store/database.ts';
import type { ScaleLab } from './lab-files.ts';
import { SEEDER_VERSION, seedStore } from './seed-store.ts';

/** Cached stores, the generated lab and scratch homes; DEVLAB_SCALE_DIR to share one cache between checkouts. */
export const SCALE_DIR = process.env['DEVLAB_SCALE_DIR'] ?? path.join(PROJECT_ROOT, 'bench-results', 'scale');

/**
 * History is seeded relative to the day it was written and read back over the last 90 days (the ranker
 * and the query language); past this age a cached store is seeded again so it still covers its 60 days.
 */
const MAX_AGE_MS = 20 * 24 * 3600_000;

/** The generated suite and inventory the seeded stores line up with. */
export const scaleLabDir = (): string => path.join(SCALE_DIR, `lab-v${SEEDER_VERSION}`);

export function cachedStoreFile(size: number): string {
  return path.join(SCALE_DIR, `store-${size}-v${SEEDER_VERSION}.db`);
}

function removeDb(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
}

/** The cached store of `size` finished jobs, seeded first when missing or stale. */
export async function ensureSeeded(size: number, lab: ScaleLab): Promise<string> {
  const file = cachedStoreFile(size);
  if (existsSync(file) && Date.now() - statSync(file).mtimeMs < MAX_AGE_MS) return file;
  mkdirSync(SCALE_DIR, { recursive: true });
  const partial = `${file}.partial`;
  removeDb(partial);
  const t0 = performance.now();
  await seedStore(partial, size, lab);
  rmSync(`${partial}-wal`, { force: true });
  rmSync(`${partial}-shm`, { force: true });
  removeDb(file);
  renameSync(partial, file);
  const s = (performance.now() - t0) / 1000;
  const mb = statSync(file).size / 2 ** 20;
  process.stderr.write(
    `scale: seeded ${size.toLocaleString('en')} jobs in ${s.toFixed(0)} s (${Math.round(size / s).toLocaleString('en')} jobs/s), ${mb.toFixed(0)} MB: ${file}\n`,
  );
  return file;
}

/** A scratch DEVLAB_HOME holding a copy of the cached store: a measurement never changes the cache. */
export function scratchHome(file: string, name: string): { home: string; remove(): void } {
  const home = path.join(SCALE_DIR, 'homes', name);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  copyFileSync(file, storePath(home));
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}
