import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../log/logger.ts';
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

export type ArtifactMeta = Omit<ArtifactRow, 'path' | 'size' | 'createdAt' | 'state' | 'reason'>;

/** Who sent an upload, for the log lines about it (the store keeps none of it). */
export interface UploadContext {
  device?: string;
}

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const UNWRITABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EIO', 'EMFILE', 'ENFILE', 'EBUSY']);

/**
 * The artifact folder (or the store) cannot take the file now: 507 when full, 503 when read-only or
 * otherwise unwritable. An agent keeps the artifact in its spool and sends it again later.
 */
export class ArtifactStorageError extends Error {
  constructor(
    readonly status: 503 | 507,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ArtifactStorageError';
  }
}

/** A lost artifact: its record says why; there is no file to serve (the API answers 410). */
export class ArtifactGoneError extends Error {
  readonly statusCode = 410;
  constructor(row: ArtifactRow) {
    super(`artifact "${row.name}" of attempt ${row.attempt} was lost: ${row.reason ?? 'no reason recorded'}`);
    this.name = 'ArtifactGoneError';
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * `mkdir -p` that fails with the real cause: a recursive mkdir reports ENOENT when a folder cannot be
 * made for another reason (a read-only or unwritable parent), so the first missing one is made alone.
 */
async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    let missing = dir;
    while (!existsSync(path.dirname(missing)) && path.dirname(missing) !== missing)
      missing = path.dirname(missing);
    await mkdir(missing);
    await mkdir(dir, { recursive: true });
  }
}

/** The storage error an upload is answered with, or null for any other error (a bug: a 500). */
export function storageError(err: unknown, what: string): ArtifactStorageError | null {
  if (err instanceof ArtifactStorageError) return err;
  const code = errorCode(err);
  if (FULL.has(code) || code === 'SQLITE_FULL')
    return new ArtifactStorageError(
      507,
      code,
      `artifact storage is full (${code}): ${what} was not stored; send it again later`,
      { cause: err },
    );
  if (UNWRITABLE.has(code) || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_IOERR')) {
    const state = code === 'EROFS' || code.startsWith('SQLITE_READONLY') ? 'read-only' : 'not writable';
    return new ArtifactStorageError(
      503,
      code,
      `artifact storage is ${state} (${code}): ${what} was not stored; send it again later`,
      { cause: err },
    );
  }
  return null;
}

/** Temp files older than this are left by a control plane that stopped mid-upload: removed at start. */
const STALE_INCOMING_MS = 60 * 60_000;

/**
 * Artifact files under `<home>/artifacts/<run>/<job>/<attempt>/<id>-<name>`, indexed in the store.
 *
 * An upload is written to `<home>/artifacts/.incoming/` and fsynced, then hard-linked to its final name
 * (which fails if a file is there: an existing artifact's file is never written over), and only then is
 * its row inserted, in the same turn. So a row never points to a partial file; a control plane that dies
 * between the link and the row leaves a complete file that the agent's retry (or its lost notice)
 * adopts. An upload of an id that is already stored writes nothing and answers the stored row.
 */
export class ArtifactStore {
  readonly root: string;
  private readonly incoming: string;
  private readonly log: Logger;

  constructor(
    home: string,
    private readonly repo: ArtifactsRepo,
    options: { logger?: Logger } = {},
  ) {
    this.root = path.join(home, 'artifacts');
    this.incoming = path.join(this.root, '.incoming');
    this.log = options.logger ?? createLogger('server', 'info');
    this.removeStaleIncoming();
  }

  /**
   * Stores an artifact once: `created` is false when that id was stored already (the upload was re-sent),
   * and nothing is written then. Throws an `ArtifactStorageError` when the disk is full or read-only.
   */
  async save(
    meta: ArtifactMeta,
    data: Buffer,
    context: UploadContext = {},
  ): Promise<{ row: ArtifactRow; created: boolean }> {
    const rel = this.relativePath(meta);
    const fields = this.fields(meta, context);
    const existing = this.repo.get(meta.id);
    if (existing?.state === 'stored') {
      this.log.debug(fields, 'artifact already stored: the re-sent upload changes nothing');
      return { row: existing, created: false };
    }
    const file = path.join(this.root, rel);
    let tmp: string | null = null;
    try {
      await ensureDir(path.dirname(file));
      await ensureDir(this.incoming);
      tmp = path.join(this.incoming, `${meta.id}.${randomUUID()}`);
      const handle = await open(tmp, 'wx', 0o644);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // From here on synchronous: the file gets its name and its row in the same turn.
      const size = this.publish(tmp, file, data.length, fields);
      this.repo.insert({ ...meta, path: rel, size, createdAt: Date.now() });
      const row = this.repo.get(meta.id);
      if (!row) throw new Error(`artifact ${meta.id} was inserted but cannot be read back`);
      return { row, created: true };
    } catch (err) {
      throw this.failed(err, fields, `artifact "${meta.name}" of job ${meta.jobId} attempt ${meta.attempt}`);
    } finally {
      if (tmp) {
        const leftover = tmp;
        await rm(leftover, { force: true }).catch((err: unknown) =>
          this.log.warn({ ...fields, file: leftover, err }, 'cannot remove an upload temp file'),
        );
      }
    }
  }

  /**
   * Records that an agent had to drop an artifact (`reason` says why). A stored artifact stays stored,
   * and a complete file an earlier upload left without its row is adopted instead: it is not lost.
   */
  recordLost(
    meta: ArtifactMeta,
    reason: string,
    context: UploadContext = {},
  ): { row: ArtifactRow; created: boolean } {
    const rel = this.relativePath(meta);
    const fields = this.fields(meta, context);
    const existing = this.repo.get(meta.id);
    if (existing) return { row: existing, created: false };
    const file = path.join(this.root, rel);
    try {
      if (existsSync(file)) {
        this.repo.insert({ ...meta, path: rel, size: statSync(file).size, createdAt: Date.now() });
        this.log.info(fields, 'artifact reported lost, but an earlier upload of it is complete: kept');
      } else {
        this.repo.insertLost({ ...meta, reason: reason.slice(0, 500), createdAt: Date.now() });
        this.log.warn({ ...fields, reason }, 'artifact lost: the agent could not keep it');
      }
    } catch (err) {
      throw this.failed(err, fields, `the loss of artifact "${meta.name}" of job ${meta.jobId}`);
    }
    const row = this.repo.get(meta.id);
    if (!row) throw new Error(`artifact ${meta.id} was recorded but cannot be read back`);
    return { row, created: true };
  }

  read(row: ArtifactRow): Buffer {
    if (row.state === 'lost') throw new ArtifactGoneError(row);
    const file = path.join(this.root, row.path);
    if (!file.startsWith(this.root + path.sep)) throw new Error('artifact path escapes the artifact folder');
    try {
      return readFileSync(file);
    } catch (err) {
      this.log.error(
        { run: row.runId, job: row.jobId, attempt: row.attempt, artifact: row.id, file, err },
        'cannot read a stored artifact',
      );
      throw err;
    }
  }

  private relativePath(meta: ArtifactMeta): string {
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
    return rel;
  }

  /**
   * Gives the complete temp file its final name without replacing anything there; returns the size of
   * the file now under that name. A file already there is the same artifact (same job, attempt and
   * name), completed by an earlier upload whose row was never written: it is kept as it is.
   */
  private publish(tmp: string, file: string, size: number, fields: Record<string, unknown>): number {
    try {
      linkSync(tmp, file);
      return size;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'EEXIST') {
        this.log.info(fields, 'artifact file already complete from an earlier upload: kept as it is');
        return statSync(file).size;
      }
      // A file system without hard links: a rename, after making sure nothing is there.
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EMLINK') {
        if (existsSync(file)) return statSync(file).size;
        renameSync(tmp, file);
        return size;
      }
      throw err;
    }
  }

  private fields(meta: ArtifactMeta, context: UploadContext): Record<string, unknown> {
    return {
      run: meta.runId,
      job: meta.jobId,
      attempt: meta.attempt,
      device: context.device ?? null,
      artifact: meta.id,
      artifactName: meta.name,
    };
  }

  /** Logs the failure with its cause and turns a full or unwritable disk into the error the agent retries. */
  private failed(err: unknown, fields: Record<string, unknown>, what: string): Error {
    const storage = storageError(err, what);
    if (storage) {
      this.log.error(
        { ...fields, status: storage.status, code: storage.code, err },
        `artifact not stored: ${storage.message}`,
      );
      return storage;
    }
    this.log.error({ ...fields, err }, `artifact not stored: ${(err as Error).message ?? String(err)}`);
    return err instanceof Error ? err : new Error(String(err));
  }

  private removeStaleIncoming(): void {
    let names: string[];
    try {
      names = readdirSync(this.incoming);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT')
        this.log.warn({ dir: this.incoming, err }, 'cannot look for upload temp files left by a stop');
      return;
    }
    for (const name of names) {
      const file = path.join(this.incoming, name);
      try {
        // Another control plane on the same data dir may be writing a fresh one right now.
        if (Date.now() - statSync(file).mtimeMs > STALE_INCOMING_MS) rmSync(file, { force: true });
      } catch (err) {
        this.log.warn({ file, err }, 'cannot remove an upload temp file left by a stop');
      }
    }
  }
}
