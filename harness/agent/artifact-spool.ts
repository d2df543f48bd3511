import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

/** What the spool knows of an artifact it holds (`<id>.json` next to its bytes, `<id>.data`). */
export interface SpoolRecord {
  id: string;
  runId: string;
  jobId: string;
  attempt: number;
  name: string;
  contentType: string;
  size: number;
  deviceId: string | null;
  /** The attempt's status: evidence of a passed attempt is dropped first when the spool is full. */
  status: string | null;
  createdAt: number;
  /** Set when the bytes were dropped: only the loss (and why) is left to tell the control plane. */
  lost: string | null;
}

export interface SpoolEntry extends SpoolRecord {
  /** Set when the agent's disk would not take the bytes: held in memory (lost if the agent stops). */
  memory: Buffer | null;
  /** Written (or held in memory): only then may it be sent. */
  ready: boolean;
}

/** Log fields of an artifact: every line about one says whose it is. */
export function spoolFields(entry: SpoolRecord): Record<string, unknown> {
  return {
    run: entry.runId,
    job: entry.jobId,
    attempt: entry.attempt,
    device: entry.deviceId,
    artifact: entry.id,
    artifactName: entry.name,
    size: entry.size,
  };
}

const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(2)} MB`;

/** Lower goes first: the oldest evidence of passed attempts, then the oldest of any other. */
function dropOrder(a: SpoolRecord, b: SpoolRecord): number {
  const pa = a.status === 'passed' ? 0 : 1;
  const pb = b.status === 'passed' ? 0 : 1;
  return pa - pb || a.createdAt - b.createdAt;
}

function isRecord(value: unknown): value is SpoolRecord {
  const r = value as Partial<SpoolRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    /^[a-f0-9]{8,40}$/.test(r.id) &&
    typeof r.runId === 'string' &&
    typeof r.jobId === 'string' &&
    typeof r.attempt === 'number' &&
    typeof r.name === 'string' &&
    typeof r.contentType === 'string' &&
    typeof r.size === 'number' &&
    typeof r.createdAt === 'number'
  );
}

/**
 * An agent's artifacts on its own disk until the control plane has them: `<dir>/<id>.data` (written to a
 * temp name, fsynced, renamed) and then `<id>.json` (renamed into place: an entry exists once its record
 * does). What a stopped or killed agent left is read again at start. The bytes held stay within
 * `maxBytes`: to make room the oldest evidence of passed attempts goes first, then the oldest of any
 * other; a dropped artifact keeps its record, marked lost with the reason, until the control plane has
 * recorded the loss. Without a folder (`dir` null) everything is held in memory.
 */
export class ArtifactSpool {
  private readonly entries = new Map<string, SpoolEntry>();
  private held = 0;

  constructor(
    readonly dir: string | null,
    readonly maxBytes: number,
    private readonly log: Logger,
  ) {}

  /** Bytes held (the artifacts still to upload, not the records of lost ones). */
  get bytes(): number {
    return this.held;
  }

  get count(): number {
    return this.entries.size;
  }

  /** The oldest entry written and not in `busy`: what to upload next. */
  next(busy: ReadonlySet<string>): SpoolEntry | undefined {
    for (const entry of this.entries.values()) if (entry.ready && !busy.has(entry.id)) return entry;
    return undefined;
  }

  /** Whether the spool still holds this entry (it was not sent and removed meanwhile). */
  holds(entry: SpoolEntry): boolean {
    return this.entries.get(entry.id) === entry;
  }

  /** Reads what an earlier life of the agent left (oldest first) and removes its partial writes. */
  async load(): Promise<SpoolEntry[]> {
    if (!this.dir) return [];
    const dir = this.dir;
    await mkdir(dir, { recursive: true });
    const names = await readdir(dir);
    const loaded: SpoolEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(dir, name);
      let record: unknown;
      try {
        record = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        this.log.error({ file, err }, 'unreadable spool record: removed (its artifact cannot be sent)');
        await this.removeFile(file);
        continue;
      }
      if (!isRecord(record) || `${record.id}.json` !== name) {
        this.log.error({ file }, 'spool record of an unknown shape: removed (its artifact cannot be sent)');
        await this.removeFile(file);
        continue;
      }
      const entry: SpoolEntry = {
        ...record,
        deviceId: record.deviceId ?? null,
        status: record.status ?? null,
        lost: record.lost ?? null,
        memory: null,
        ready: true,
      };
      // The bytes went, the record was not rewritten yet (the agent stopped in between): a loss.
      if (!entry.lost && !existsSync(this.dataFile(entry.id))) {
        entry.lost = 'its spooled copy was gone when the agent started again';
        this.log.warn(
          { ...spoolFields(entry), reason: entry.lost },
          'spooled artifact missing: recorded as lost',
        );
      }
      loaded.push(entry);
    }
    loaded.sort((a, b) => a.createdAt - b.createdAt);
    for (const entry of loaded) {
      this.entries.set(entry.id, entry);
      if (!entry.lost) this.held += entry.size;
    }
    // Temp files, and bytes whose record was never written (or already removed), are partial writes.
    for (const name of names) {
      const id = name.split('.')[0] ?? '';
      if (name.endsWith('.tmp') || (name.endsWith('.data') && !this.entries.has(id)))
        await this.removeFile(path.join(dir, name));
    }
    return loaded;
  }

  /**
   * Keeps an artifact. To stay within the limit it first drops (marks lost) what matters least, the new
   * one included: the oldest evidence of passed attempts, then the oldest of other attempts; entries in
   * `busy` (being uploaded) are not touched. Returns the entry and every entry dropped for it.
   */
  async add(
    record: Omit<SpoolRecord, 'lost'>,
    data: Buffer,
    busy: ReadonlySet<string>,
  ): Promise<{ entry: SpoolEntry; dropped: SpoolEntry[] }> {
    const same = this.entries.get(record.id);
    // The same artifact again (an attempt run again after a stall): the first copy is the one sent.
    if (same && !same.lost) return { entry: same, dropped: [] };
    if (same) await this.remove(same);
    const entry: SpoolEntry = { ...record, lost: null, memory: null, ready: false };
    // Bookkeeping first, in this turn: concurrent adds of several device workers see each other.
    const dropped: SpoolEntry[] = [];
    if (this.held + entry.size > this.maxBytes) {
      const candidates = [...this.entries.values()]
        .filter((e) => !e.lost && !busy.has(e.id))
        .concat(entry)
        .sort(dropOrder);
      let over = this.held + entry.size - this.maxBytes;
      for (const victim of candidates) {
        if (over <= 0) break;
        victim.lost = `dropped by the agent: its artifact spool was full (${mb(this.maxBytes)}) while the control plane could not take uploads; ${victim.status === 'passed' ? 'evidence of a passed attempt goes first' : 'no evidence of a passed attempt was left to drop'}`;
        over -= victim.size;
        dropped.push(victim);
        if (victim !== entry) this.held -= victim.size;
      }
    }
    this.entries.set(entry.id, entry);
    if (!entry.lost) this.held += entry.size;
    await Promise.all(dropped.filter((d) => d !== entry).map((d) => this.persistLoss(d)));
    await this.persist(entry, entry.lost ? null : data);
    entry.ready = true;
    return { entry, dropped };
  }

  /** Whether an artifact of `size` bytes can be spooled at all (else it is sent from memory, once). */
  fits(size: number): boolean {
    return size <= this.maxBytes;
  }

  /** An entry for an artifact too large for the spool: in memory only, not held by the spool. */
  transient(record: Omit<SpoolRecord, 'lost'>, data: Buffer): SpoolEntry {
    return { ...record, lost: null, memory: data, ready: true };
  }

  /** Keeps the record of a loss (an entry not held yet) until the control plane has heard of it. */
  async keepLoss(entry: SpoolEntry, reason: string): Promise<void> {
    entry.lost ??= reason;
    entry.memory = null;
    const same = this.entries.get(entry.id);
    if (same && same !== entry) return;
    entry.ready = false;
    this.entries.set(entry.id, entry);
    await this.persist(entry, null);
    entry.ready = true;
  }

  /** The artifact's bytes (from memory, or its spooled file). */
  async read(entry: SpoolEntry): Promise<Buffer> {
    if (entry.memory) return entry.memory;
    return readFile(this.dataFile(entry.id));
  }

  /** Drops the bytes but keeps the record, marked lost with `reason`, for the control plane to hear of. */
  async markLost(entry: SpoolEntry, reason: string): Promise<void> {
    if (entry.lost) return;
    entry.lost = reason;
    if (this.entries.get(entry.id) !== entry) return;
    this.held -= entry.size;
    await this.persistLoss(entry);
  }

  /** The control plane has it (or will never take it): record first, then the bytes. */
  async remove(entry: SpoolEntry): Promise<void> {
    if (this.entries.get(entry.id) !== entry) return;
    this.entries.delete(entry.id);
    if (!entry.lost) this.held -= entry.size;
    entry.memory = null;
    if (!this.dir) return;
    await this.removeFile(this.recordFile(entry.id));
    await this.removeFile(this.dataFile(entry.id));
  }

  private dataFile(id: string): string {
    return path.join(this.dir ?? '', `${id}.data`);
  }

  private recordFile(id: string): string {
    return path.join(this.dir ?? '', `${id}.json`);
  }

  private toRecord(entry: SpoolEntry): SpoolRecord {
    const { memory: _memory, ready: _ready, ...record } = entry;
    return record;
  }

  /** Writes the entry (bytes, then record); a disk that will not take them leaves the bytes in memory. */
  private async persist(entry: SpoolEntry, data: Buffer | null): Promise<void> {
    if (!this.dir) {
      entry.memory = data;
      return;
    }
    try {
      await mkdir(this.dir, { recursive: true });
      if (data) {
        const tmp = `${this.dataFile(entry.id)}.tmp`;
        const handle = await open(tmp, 'w', 0o600);
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(tmp, this.dataFile(entry.id));
      }
      await this.writeRecord(entry);
    } catch (err) {
      entry.memory = data;
      this.log.error(
        { ...spoolFields(entry), dir: this.dir, err },
        'cannot write the artifact to the spool: held in memory until uploaded (lost if the agent stops first)',
      );
    }
  }

  private async persistLoss(entry: SpoolEntry): Promise<void> {
    entry.memory = null;
    if (!this.dir) return;
    try {
      await rm(this.dataFile(entry.id), { force: true });
      await this.writeRecord(entry);
    } catch (err) {
      this.log.error(
        { ...spoolFields(entry), dir: this.dir, err },
        'cannot record the loss of a spooled artifact on disk (the control plane is still told)',
      );
    }
  }

  private async writeRecord(entry: SpoolEntry): Promise<void> {
    const tmp = `${this.recordFile(entry.id)}.tmp`;
    await writeFile(tmp, JSON.stringify(this.toRecord(entry)), { mode: 0o600 });
    await rename(tmp, this.recordFile(entry.id));
  }

  private async removeFile(file: string): Promise<void> {
    try {
      await rm(file, { force: true });
    } catch (err) {
      this.log.error({ file, err }, 'cannot remove a spool file');
    }
  }
}
