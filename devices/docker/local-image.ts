import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tar from 'tar-stream';

/** Applets linked to busybox in every devlab base image, so shell scripts and runners just work. */
const BUSYBOX_APPLETS = [
  'sh',
  'ash',
  'cat',
  'echo',
  'ls',
  'mkdir',
  'rm',
  'cp',
  'mv',
  'sleep',
  'grep',
  'sed',
  'awk',
  'head',
  'tail',
  'wc',
  'date',
  'env',
  'printf',
  'test',
  '[',
  'true',
  'false',
  'tr',
  'cut',
  'sort',
  'uniq',
  'id',
  'hostname',
  'uname',
  'ps',
  'kill',
  'touch',
  'find',
  'xargs',
  'seq',
  'expr',
  'md5sum',
  'sha256sum',
  'dd',
  'od',
  'tee',
  'wget',
  // The driver reads a container's result files with `tar` (they are on a tmpfs the archive API misses).
  'tar',
];

/** Label holding the digest of the spec an image was built from; a different digest means rebuild. */
export const LABEL_SPEC_DIGEST = 'devlab.spec-digest';

export interface LocalImageSpec {
  /** Image reference, e.g. `devlab/stb-reference:1`. */
  tag: string;
  /** Files to place in the image: path inside the image → content. */
  files?: Record<string, { content: string | Buffer; mode?: number }>;
  cmd?: string[];
  labels?: Record<string, string>;
  /** The busybox binary copied into the image (Debian's busybox-static). */
  busybox?: string;
}

/**
 * What the image is built from (busybox, applets, files, command, labels; not the tag), as a digest: an
 * image whose label differs was built from another version of its spec.
 */
export function localImageDigest(spec: Omit<LocalImageSpec, 'tag'>): string {
  const hash = createHash('sha256');
  const part = (value: string | Buffer) => {
    hash.update(`${value.length}:`);
    hash.update(value);
  };
  part('devlab-local-image/1');
  part(readFileSync(spec.busybox ?? '/bin/busybox'));
  part(BUSYBOX_APPLETS.join(' '));
  const files = Object.entries(spec.files ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [file, { content, mode }] of files) {
    part(file.replace(/^\/+/, ''));
    part(String(mode ?? 0o644));
    part(content);
  }
  part(JSON.stringify(spec.cmd ?? null));
  part(JSON.stringify(Object.entries(spec.labels ?? {}).sort()));
  return hash.digest('hex');
}

/** The build context: a Dockerfile that copies a busybox root file system, no RUN step and no registry. */
function buildContext(spec: LocalImageSpec): Readable {
  const pack = tar.pack();
  const busybox = readFileSync(spec.busybox ?? '/bin/busybox');
  pack.entry({ name: 'rootfs/bin/busybox', mode: 0o755 }, busybox);
  for (const applet of BUSYBOX_APPLETS) {
    pack.entry({ name: `rootfs/bin/${applet}`, type: 'symlink', linkname: 'busybox' });
  }
  pack.entry({ name: 'rootfs/tmp', type: 'directory', mode: 0o1777 });
  for (const [file, { content, mode }] of Object.entries(spec.files ?? {})) {
    pack.entry({ name: `rootfs/${file.replace(/^\/+/, '')}`, mode: mode ?? 0o644 }, content);
  }
  const lines = ['FROM scratch', 'COPY rootfs/ /', 'ENV PATH=/bin'];
  const labels = { ...spec.labels, [LABEL_SPEC_DIGEST]: localImageDigest(spec) };
  for (const [key, value] of Object.entries(labels))
    lines.push(`LABEL ${JSON.stringify(key)}=${JSON.stringify(value)}`);
  if (spec.cmd) lines.push(`CMD ${JSON.stringify(spec.cmd)}`);
  pack.entry({ name: 'Dockerfile' }, `${lines.join('\n')}\n`);
  pack.finalize();
  // tar-stream packs are streamx streams; dockerode pipes a Node stream.
  return Readable.from(pack);
}

/** Builds an image from local files only (busybox-static plus the spec's files); returns its id. */
export async function buildLocalImage(docker: Docker, spec: LocalImageSpec): Promise<string> {
  const stream = await docker.buildImage(buildContext(spec), {
    t: spec.tag,
    networkmode: 'none',
    rm: true,
    forcerm: true,
  });
  const events = await new Promise<Array<{ error?: string; aux?: { ID?: string } }>>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))),
  );
  const failure = events.find((e) => e.error);
  if (failure) throw new Error(`Building image ${spec.tag} failed: ${failure.error}`);
  const info = await docker.getImage(spec.tag).inspect();
  return info.Id;
}

/** The spec digest label of a local image: `null` when the engine lacks the image, `''` when unlabelled. */
export async function localImageSpecDigest(docker: Docker, tag: string): Promise<string | null> {
  try {
    const info = await docker.getImage(tag).inspect();
    return info.Config?.Labels?.[LABEL_SPEC_DIGEST] ?? '';
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

/** True when the engine has the image locally. */
export async function hasImage(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}
