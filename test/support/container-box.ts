import { expect as assert } from 'expect';
import { defineTest } from '../../suites/define-test.ts';
import type { TestDefinition } from '../../suites/test-api.ts';

/**
 * One inventory entry (an item of `devices:`) for a container device running the reference set-top-box
 * image, owned by `host`; `settings` are more of its settings, after its memory.
 */
export function containerBox(o: {
  id: string;
  name: string;
  model: string;
  host: string;
  image?: string;
  /** The local image spec the driver builds a missing image from; null: none (a missing image fails). */
  build?: string | null;
  memoryMb?: number;
  settings?: Record<string, string | number>;
}): string {
  const more = Object.entries(o.settings ?? {}).map(([key, value]) => `, ${key}: ${value}`);
  const build = o.build === null ? '' : ` build: ${o.build ?? 'stb-reference-1'},`;
  return `
  - id: ${o.id}
    name: ${o.name}
    driver: docker
    model: ${o.model}
    platform: linux
    os: busybox
    firmware: '1.0'
    host: ${o.host}
    capabilities: { codecs: [h264], resolution: 720p, memoryMb: 256, input: [dpad] }
    settings: { image: '${o.image ?? 'devlab/stb-reference:1'}',${build} memoryMb: ${o.memoryMb ?? 64}${more.join('')} }
`;
}

/** A container test that runs `echo ready` in its device's container and attaches what it printed. */
export function shellTest(id: string): TestDefinition {
  return defineTest(
    {
      id,
      title: 'Container answers',
      component: 'platform',
      owner: 'qa',
      requires: { drivers: ['docker'] },
    },
    async ({ container, attach }) => {
      const out = await container!.exec(['sh', '-c', 'echo ready']);
      attach('exec.txt', out.stdout);
      assert(out.stdout.trim()).toBe('ready');
    },
  );
}
