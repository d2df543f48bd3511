import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactRow, ArtifactsRepo } from '../store/artifacts-repo.ts';

/** Keeps a name a single safe path segment: no separators, no dot-dot, no control characters. */
export function safeArtifactName(name: string): string {
  const cleaned = name
    .split('')
    .filter((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f)
    .join('')
    .replace(/[\\/]+/g, '_')
    .replace(/^\.+/, '_');
  // File names are at most 255 bytes and the id prefix takes 21: keep at most 120 characters and 200
  // UTF-8 bytes, cut between code points (120 characters of CJK or emoji would be ENAMETOOLONG, a 500).
  let kept = '';
  let chars = 0;
  let bytes = 0;
  for (const ch of cleaned) {
    chars += ch.length;
    bytes += Buffer.byteLength(ch);
    if (chars > 120 || bytes > 200) break;
    kept += ch;
  }
  return kept || 'artifact';
}

/** Artifact files under `<home>/artifacts/<run>/<job>/<attempt>/`, indexed in the store. */
export class ArtifactStore {
  readonly root: string;

  constructor(
    home: string,
    private readonly repo: ArtifactsRepo,
  ) {
    this.root = path.join(home, 'artifacts');
  }

  save(meta: Omit<ArtifactRow, 'path' | 'size' | 'createdAt'>, data: Buffer): ArtifactRow {
    for (const part of [meta.runId, meta.jobId]) {
      if (!/^[A-Za-z0-9._-]+$/.test(part) || part.startsWith('.')) throw new Error(`invalid id "${part}"`);
    }
    const rel = path.join(
      meta.runId,
      meta.jobId,
      String(meta.attempt),
      `${meta.id}-${safeArtifactName(meta.name)}`,
    );
    const file = path.join(this.root, rel);
    if (!file.startsWith(this.root + path.sep)) throw new Error('artifact path escapes the artifact folder');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
    const row: ArtifactRow = { ...meta, path: rel, size: data.length, createdAt: Date.now() };
    this.repo.insert(row);
    return this.repo.get(meta.id) ?? row;
  }

  read(row: ArtifactRow): Buffer {
    const file = path.join(this.root, row.path);
    if (!file.startsWith(this.root + path.sep)) throw new Error('artifact path escapes the artifact folder');
    return readFileSync(file);
  }
}
