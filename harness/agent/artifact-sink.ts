import { createHash } from 'node:crypto';
import type { Artifact } from '../../devices/device.ts';
import type { ArtifactRef } from '../protocol/job.ts';

export interface ArtifactOwner {
  runId: string;
  jobId: string;
  attempt: number;
}

/** Where an agent puts the artifacts of an attempt; the control plane stores them under the data dir. */
export interface ArtifactSink {
  put(owner: ArtifactOwner, artifact: Artifact): Promise<ArtifactRef>;
}

/** Stable per (job, attempt, name): a retried upload overwrites instead of duplicating. */
export function artifactId(owner: ArtifactOwner, name: string): string {
  return createHash('sha1')
    .update(`${owner.jobId}\u0000${owner.attempt}\u0000${name}`)
    .digest('hex')
    .slice(0, 20);
}

/** Uploads to the control plane over HTTP, so agents on other hosts need no shared disk. */
export class HttpArtifactSink implements ArtifactSink {
  constructor(
    private readonly serverUrl: string,
    private readonly agentToken: string | undefined,
    private readonly timeoutMs = 30_000,
  ) {}

  async put(owner: ArtifactOwner, artifact: Artifact): Promise<ArtifactRef> {
    const id = artifactId(owner, artifact.name);
    const url = new URL(`/internal/artifacts/${id}`, this.serverUrl);
    url.searchParams.set('run', owner.runId);
    url.searchParams.set('job', owner.jobId);
    url.searchParams.set('attempt', String(owner.attempt));
    url.searchParams.set('name', artifact.name);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'x-artifact-type': artifact.contentType,
    };
    if (this.agentToken) headers['authorization'] = `Bearer ${this.agentToken}`;
    let lastError: unknown;
    for (let tryNo = 0; tryNo < 3; tryNo++) {
      try {
        const res = await fetch(url, {
          method: 'PUT',
          headers,
          body: new Uint8Array(artifact.data),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        if (res.ok)
          return { id, name: artifact.name, contentType: artifact.contentType, size: artifact.data.length };
        lastError = new Error(`artifact upload ${artifact.name}: HTTP ${res.status} ${await res.text()}`);
        if (res.status < 500) break;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 500 * (tryNo + 1)));
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }
}
