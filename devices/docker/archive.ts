import path from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import type { Artifact } from '../device.ts';

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

/** Files under `dir` in the container (running or stopped); empty when the folder does not exist. */
export async function readTree(container: Docker.Container, dir: string): Promise<Map<string, Buffer>> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await container.getArchive({ path: dir });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return new Map();
    throw err;
  }
  return untar(stream);
}

/** A tar with one file, for `putArchive`. */
export async function tarOneFile(name: string, content: Buffer, mode = 0o644): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: path.posix.basename(name), mode }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pack)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
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
