import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { expect as assert } from 'expect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLocalImage } from '../../devices/docker/local-image.ts';
import { reapContainers } from '../../devices/docker/reaper.ts';
import { defineTest } from '../../suites/define-test.ts';
import { loadManifestText } from '../../suites/manifest/load-manifest.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import { dockerBoxInventory, startAgentLab } from '../support/container-probe.ts';
import { type LabHarness, waitForRun } from '../support/lab-harness.ts';
import { DOCKER_SOCKET, dockerUp, redisUp, requireService } from '../support/services.ts';

/**
 * Issue 17: a container manifest's `image` is the image its test runs in (the device's image otherwise),
 * a session opened for one image is not reused for a test of another, and an image the engine lacks is an
 * infrastructure error naming it. The device runs the reference image; the runner image is built here and
 * is the only one with /opt/image-name.
 */
const AGENT = `devlab-test-mimage-${randomUUID().slice(0, 8)}`;
const RUNNER = `devlab/it-manifest-runner:${process.pid}`;
const MISSING = `devlab/it-no-such-image:${process.pid}`;
const INVENTORY = dockerBoxInventory({
  id: 'mimage-box',
  name: 'Manifest image box',
  model: 'MI-1',
  host: AGENT,
});

/** Writes one JUnit case named after the image it ran in: the runner's name, else "device". */
const WHICH_IMAGE = [
  'sh',
  '-c',
  'n=$(cat /opt/image-name 2>/dev/null || echo device); printf \'<testsuite tests="1"><testcase classname="image" name="%s"/></testsuite>\' "$n" > /results/junit.xml',
];

function manifest(id: string, tag: string, image?: string): TestDefinition {
  const fields = {
    id,
    title: `Which image (${id})`,
    tags: [tag],
    component: 'platform',
    owner: 'qa',
    retries: 0,
    ...(image === undefined ? {} : { image }),
    command: WHICH_IMAGE,
    results: '/results/junit.xml',
  };
  // JSON is YAML: the manifest goes through the same parser as a file's.
  return loadManifestText(JSON.stringify(fields), `${id}.manifest.yaml`);
}

const TESTS: TestDefinition[] = [
  manifest('mi.runner', 'image', RUNNER),
  manifest('mi.device', 'image'),
  defineTest(
    {
      id: 'mi.plain',
      title: 'A code test runs in the device image',
      tags: ['image'],
      component: 'platform',
      owner: 'qa',
      requires: { drivers: ['docker'] },
    },
    async ({ container }) => {
      const out = await container!.exec(['sh', '-c', 'cat /opt/image-name 2>/dev/null || echo device']);
      assert(out.stdout.trim()).toBe('device');
    },
  ),
  manifest('mi.missing', 'missing', MISSING),
];

describe('a container manifest’s image (real agent, docker driver and engine)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  let lab: LabHarness;

  beforeAll(async () => {
    if (!up) return;
    await buildLocalImage(docker, { tag: RUNNER, files: { '/opt/image-name': { content: 'runner\n' } } });
    lab = await startAgentLab({ agent: AGENT, inventory: INVENTORY, file: 'mimage.yaml', tests: TESTS });
  }, 120_000);
  afterAll(async () => {
    await lab?.close();
    if (!up) return;
    await reapContainers(docker, AGENT, 'none');
    await docker
      .getImage(RUNNER)
      .remove({ force: true })
      .catch((err: unknown) => console.warn(`removing ${RUNNER}: ${(err as Error).message}`));
  });

  /** The case names each test's (only) attempt reported, by test id. */
  function casesByTest(runId: string): Record<string, string[]> {
    return Object.fromEntries(
      lab.store.jobs
        .listByRun(runId)
        .map((j) => [j.testId, lab.store.attempts.casesOf(j.id, 1).map((c) => `${c.classname}.${c.name}`)]),
    );
  }

  it.skipIf(!up)(
    'each test runs in its own image on one device, one after the other: the manifest’s, else the device’s',
    { timeout: 120_000 },
    async () => {
      const { run } = await lab.controlPlane.submit({ build: 'b-mimage', query: 'tag:image' });
      const status = await waitForRun(lab.store, run.id, 90_000);
      const jobs = lab.store.jobs.listByRun(run.id);
      const failures = jobs.flatMap((j) =>
        lab.store.attempts.listByJob(j.id).map((a) => `${j.testId}: ${a.message}`),
      );
      expect(status, failures.join('\n')).toBe('passed');
      expect(casesByTest(run.id)).toEqual({
        // Before: the runner's manifest ran in the device's image ("device").
        'mi.runner': ['image.runner'],
        'mi.device': ['image.device'],
        'mi.plain': [],
      });
    },
  );

  it.skipIf(!up)(
    'an image the engine does not have is an infrastructure error naming it',
    { timeout: 120_000 },
    async () => {
      const { run } = await lab.controlPlane.submit({
        build: 'b-mimage-missing',
        query: 'tag:missing',
        options: { infraRetries: 0 },
      });
      expect(await waitForRun(lab.store, run.id, 90_000)).toBe('error');
      const [job] = lab.store.jobs.listByRun(run.id);
      const attempts = lab.store.attempts.listByJob(job!.id);
      expect(attempts.map((a) => [a.status, a.errorKind])).toEqual([['error', 'infra']]);
      expect(attempts[0]!.message).toContain(
        `the test's image ${MISSING} is not on the Docker engine at ${DOCKER_SOCKET}`,
      );
    },
  );
});
