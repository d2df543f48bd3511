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
];

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
  for (const [key, value] of Object.entries(spec.labels ?? {}))
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

/** True when the engine has the image locally. */
export async function hasImage(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}
