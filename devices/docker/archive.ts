import path from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import type { Artifact } from '../device.ts';
import { execInContainer } from './exec.ts';

/** Regular files of a tar stream, by path inside the archive. */
export async function untar(stream: NodeJS.ReadableStream): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  (stream as Readable).pipe(extract as unknown as NodeJS.WritableStream);
  const files = new Map<string, Buffer>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (entry.header.type === 'file') files.set(entry.header.name, Buffer.concat(chunks));
  }
  return files;
}

/**
 * Files under `dir` in the running container, read with `tar` inside it (the folder is a tmpfs, which the
 * engine's archive API does not see); empty when the folder does not exist. Names start with the
 * folder's own name (`results/junit.xml`), as an archive of the folder would have them.
 */
export async function readTree(
  docker: Docker,
  container: Docker.Container,
  dir: string,
  timeoutMs = 60_000,
): Promise<Map<string, Buffer>> {
  const clean = path.posix.normalize(dir).replace(/\/+$/, '');
  const parent = path.posix.dirname(clean) || '/';
  const base = path.posix.basename(clean);
  if (!base) throw new Error(`cannot read the folder ${JSON.stringify(dir)}: not a folder below /`);
  const res = await execInContainer(docker, container, ['tar', '-C', parent, '-cf', '-', base], {
    timeoutMs,
  });
  if (res.exitCode !== 0) {
    const message = res.stderr.toString('utf8').trim() || res.stdout.toString('utf8').trim();
    if (/No such file or directory/i.test(message)) return new Map();
    throw new Error(
      `reading ${clean} in container ${container.id.slice(0, 12)}: tar exited ${res.exitCode}: ${message}`,
    );
  }
  return untar(Readable.from([res.stdout]));
}

/** Result files as artifacts named `results/<path below the results folder>`; dot files are skipped. */
export function resultArtifacts(files: Map<string, Buffer>): Artifact[] {
  const out: Artifact[] = [];
  for (const [name, data] of files) {
    const rel = name.replace(/^[^/]+\//, '');
    if (path.posix.basename(rel).startsWith('.')) continue;
    const contentType = rel.endsWith('.xml')
      ? 'application/xml'
      : rel.endsWith('.json')
        ? 'application/json'
        : 'application/octet-stream';
    out.push({ name: `results/${rel}`, contentType, data });
  }
  return out;
}
