import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageProvider } from '../../devices/docker/images.ts';
import { buildLocalImage, LABEL_SPEC_DIGEST, localImageDigest } from '../../devices/docker/local-image.ts';
import { dockerSettingsSchema } from '../../devices/docker/settings.ts';
import { DOCKER_SOCKET, dockerUp, requireService } from '../support/services.ts';

const TAG = `devlab/it-spec-digest:${process.pid}`;
const specA = { files: { '/opt/which.txt': { content: 'a\n' } }, cmd: ['sh'] };
const specB = { files: { '/opt/which.txt': { content: 'b\n' } }, cmd: ['sh'] };

describe('local images follow their spec (real engine)', async () => {
  const up = await requireService('Docker engine', dockerUp);
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  /** Image ids this test built, removed at the end (the first one is no longer tagged then). */
  const built: string[] = [];
  afterAll(async () => {
    if (!up) return;
    for (const ref of [TAG, ...built])
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => {});
  });

  it('the digest covers the files and command, not the tag', () => {
    expect(localImageDigest(specA)).toBe(localImageDigest({ ...specA }));
    expect(localImageDigest(specA)).not.toBe(localImageDigest(specB));
    expect(localImageDigest(specA)).not.toBe(localImageDigest({ ...specA, cmd: ['true'] }));
  });

  it.skipIf(!up)('an image built from an older spec is built again; an up-to-date one is kept', async () => {
    // An image of the tag from spec A (as an earlier version of the lab would have left it).
    const first = await buildLocalImage(docker, { ...specA, tag: TAG });
    built.push(first);
    const provider = new ImageProvider(docker, { box: specB });
    const settings = dockerSettingsSchema.parse({ image: TAG, build: 'box', socket: DOCKER_SOCKET });
    await provider.ensure(settings);
    const rebuilt = await docker.getImage(TAG).inspect();
    expect(rebuilt.Id).not.toBe(first);
    expect(rebuilt.Config.Labels[LABEL_SPEC_DIGEST]).toBe(localImageDigest(specB));
    // Same spec: nothing is built.
    await provider.ensure(settings);
    expect((await docker.getImage(TAG).inspect()).Id).toBe(rebuilt.Id);
  });
});
