import type { Db } from './database.ts';

/** `stored`: the file is under the artifacts folder; `lost`: it never arrived, `reason` says why. */
export type ArtifactState = 'stored' | 'lost';

export interface ArtifactRow {
  id: string;
  runId: string;
  jobId: string;
  attempt: number;
  name: string;
  contentType: string;
  size: number;
  /** Relative to the artifacts folder of the data dir ('' for a lost artifact). */
  path: string;
  createdAt: number;
  state: ArtifactState;
  /** Why a lost artifact is missing (null when stored). */
  reason: string | null;
}

export class ArtifactsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Idempotent by id: an agent that re-sends an upload after a timeout does not duplicate it, and the
   * first stored file stays the artifact's. A stored file replaces only a `lost` record of the same id.
   */
  insert(row: Omit<ArtifactRow, 'state' | 'reason'>): void {
    this.db
      .prepare(
        `INSERT INTO artifacts (id, run_id, job_id, attempt, name, content_type, size, path, created_at, state, reason)
         VALUES (@id, @runId, @jobId, @attempt, @name, @contentType, @size, @path, @createdAt, 'stored', NULL)
         ON CONFLICT (id) DO UPDATE SET content_type = excluded.content_type, size = excluded.size,
           path = excluded.path, created_at = excluded.created_at, state = 'stored', reason = NULL
         WHERE artifacts.state = 'lost'`,
      )
      .run(row);
  }

  /** Records an artifact that will never arrive; a stored one (or an earlier record) is kept as it is. */
  insertLost(row: Omit<ArtifactRow, 'state' | 'path' | 'size'> & { reason: string }): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO artifacts (id, run_id, job_id, attempt, name, content_type, size, path, created_at, state, reason)
         VALUES (@id, @runId, @jobId, @attempt, @name, @contentType, 0, '', @createdAt, 'lost', @reason)`,
      )
      .run(row);
  }

  get(id: string): ArtifactRow | undefined {
    return this.db.prepare(`${SELECT} WHERE id = ?`).get(id) as ArtifactRow | undefined;
  }

  listByJob(jobId: string): ArtifactRow[] {
    return this.db
      .prepare(`${SELECT} WHERE job_id = ? ORDER BY attempt, created_at, name`)
      .all(jobId) as ArtifactRow[];
  }
}

const SELECT = `SELECT id, run_id AS runId, job_id AS jobId, attempt, name, content_type AS contentType, size, path,
  created_at AS createdAt, state, reason FROM artifacts`;
