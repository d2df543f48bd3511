import type Docker from 'dockerode';
import { InfrastructureError } from '../errors.ts';
import { buildLocalImage, hasImage, type LocalImageSpec } from './local-image.ts';
import type { DockerSettings } from './settings.ts';

/** Named specs the `build` setting refers to (the reference lab registers its images here). */
export type ImageSpecs = Record<string, Omit<LocalImageSpec, 'tag'>>;

/**
 * Makes sure the device's image is present: local image, else a local build from its spec, else a pull
 * when (and only when) a registry is configured. Builds of one tag are shared between concurrent callers.
 */
export class ImageProvider {
  private readonly pending = new Map<string, Promise<void>>();

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
    if (await hasImage(this.docker, settings.image)) return;
    const spec = settings.build ? this.specs[settings.build] : undefined;
    if (settings.build && !spec) {
      throw new InfrastructureError(`Image ${settings.image}: no local image spec named "${settings.build}"`);
    }
    if (spec) {
      await buildLocalImage(this.docker, { ...spec, tag: settings.image });
      return;
    }
    if (settings.registry) {
      await this.pull(`${settings.registry.replace(/\/+$/, '')}/${settings.image}`, settings.image);
      return;
    }
    throw new InfrastructureError(
      `Image ${settings.image} is not present locally and has neither a build spec nor a registry`,
    );
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
