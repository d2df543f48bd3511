import type Docker from 'dockerode';
import { InfrastructureError } from '../errors.ts';
import {
  buildLocalImage,
  hasImage,
  type LocalImageSpec,
  localImageDigest,
  localImageSpecDigest,
} from './local-image.ts';
import type { DockerSettings } from './settings.ts';

/** Named specs the `build` setting refers to (the reference lab registers its images here). */
export type ImageSpecs = Record<string, Omit<LocalImageSpec, 'tag'>>;

/**
 * Makes sure the device's image is present: with a build spec, a local image built from that very spec
 * (its digest label matches), else built again; without one, the local image, else a pull when (and only
 * when) a registry is configured. Builds of one tag are shared between concurrent callers.
 */
export class ImageProvider {
  private readonly pending = new Map<string, Promise<void>>();
  /** Spec digests by spec name (reading busybox once per spec). */
  private readonly digests = new Map<string, string>();

  constructor(
    private readonly docker: Docker,
    private readonly specs: ImageSpecs = {},
  ) {}

  ensure(settings: DockerSettings): Promise<void> {
    const running = this.pending.get(settings.image);
    if (running) return running;
    const job = this.provide(settings).finally(() => this.pending.delete(settings.image));
    this.pending.set(settings.image, job);
    return job;
  }

  private async provide(settings: DockerSettings): Promise<void> {
    const name = settings.build;
    const spec = name ? this.specs[name] : undefined;
    if (name && !spec) {
      throw new InfrastructureError(`Image ${settings.image}: no local image spec named "${name}"`);
    }
    if (name && spec) {
      const want = this.digest(name, spec);
      if ((await localImageSpecDigest(this.docker, settings.image)) === want) return;
      await buildLocalImage(this.docker, { ...spec, tag: settings.image });
      return;
    }
    if (await hasImage(this.docker, settings.image)) return;
    if (settings.registry) {
      await this.pull(`${settings.registry.replace(/\/+$/, '')}/${settings.image}`, settings.image);
      return;
    }
    throw new InfrastructureError(
      `Image ${settings.image} is not present locally and has neither a build spec nor a registry`,
    );
  }

  private digest(name: string, spec: Omit<LocalImageSpec, 'tag'>): string {
    let digest = this.digests.get(name);
    if (!digest) {
      digest = localImageDigest(spec);
      this.digests.set(name, digest);
    }
    return digest;
  }

  private async pull(remote: string, tag: string): Promise<void> {
    const stream = await this.docker.pull(remote);
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())),
    );
    const colon = tag.lastIndexOf(':');
    await this.docker
      .getImage(remote)
      .tag({ repo: colon > 0 ? tag.slice(0, colon) : tag, tag: colon > 0 ? tag.slice(colon + 1) : 'latest' });
  }
}
