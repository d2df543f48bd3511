import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLocalImage } from '../../devices/docker/local-image.ts';
import { DOCKER_SOCKET, dockerUp, requireService } from '../support/services.ts';

const TAG = 'devlab/it-hello:1';

describe('dockerode on the real Docker engine', async () => {
  const up = await requireService('Docker engine', dockerUp);
  const docker = new Docker({ socketPath: DOCKER_SOCKET });

  afterAll(async () => {
    if (up)
      await docker
        .getImage(TAG)
        .remove({ force: true })
        .catch(() => {});
  });

  it.skipIf(!up)(
    'builds an image locally, runs it with network none, reads stdout and exit code, removes it',
    async () => {
      await buildLocalImage(docker, {
        tag: TAG,
        files: {
          'opt/hello.sh': { content: 'echo "hello from $(hostname)"; echo oops >&2; exit 7\n', mode: 0o755 },
        },
        cmd: ['/bin/sh', '/opt/hello.sh'],
        labels: { 'devlab.test': 'docker-engine' },
      });
      const container = await docker.createContainer({
        Image: TAG,
        Hostname: 'stb-under-test',
        Labels: { 'devlab.test': 'docker-engine' },
        HostConfig: { NetworkMode: 'none', Memory: 64 * 2 ** 20, PidsLimit: 32, CapDrop: ['ALL'] },
      });
      try {
        await container.start();
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        // follow: true gives the multiplexed stream (the container has exited, so it ends by itself).
        const raw = await container.logs({ stdout: true, stderr: true, follow: true });
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        const chunks = { out: '', err: '' };
        stdout.on('data', (d: Buffer) => (chunks.out += d.toString()));
        stderr.on('data', (d: Buffer) => (chunks.err += d.toString()));
        docker.modem.demuxStream(raw, stdout, stderr);
        await new Promise((resolve) => raw.on('end', resolve));
        const info = await container.inspect();
        expect(StatusCode).toBe(7);
        expect(chunks.out).toBe('hello from stb-under-test\n');
        expect(chunks.err).toBe('oops\n');
        expect(info.HostConfig.NetworkMode).toBe('none');
      } finally {
        await container.remove({ force: true });
      }
      const left = await docker.listContainers({
        all: true,
        filters: { label: ['devlab.test=docker-engine'] },
      });
      expect(left).toHaveLength(0);
    },
  );
});
