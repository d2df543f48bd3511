import type { Db } from './database.ts';

export interface ArtifactRow {
  id: string;
  runId: string;
  jobId: string;
  attempt: number;
  name: string;
  contentType: string;
  size: number;
  /** Relative to the artifacts folder of the data dir. */
  path: string;
  createdAt: number;
}

export class ArtifactsRepo {
  constructor(private readonly db: Db) {}

  /** Idempotent by id: an agent that re-sends an upload after a timeout does not duplicate it. */
  insert(row: ArtifactRow): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO artifacts (id, run_id, job_id, attempt, name, content_type, size, path, created_at)
         VALUES (@id, @runId, @jobId, @attempt, @name, @contentType, @size, @path, @createdAt)`,
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
  created_at AS createdAt FROM artifacts`;
