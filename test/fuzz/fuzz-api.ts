import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import type { LabCatalog } from '../../harness/lab/lab-catalog.ts';
import { type LabKeys, labKeys } from '../../harness/queue/names.ts';
import type { Store } from '../../harness/store/store.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { newRedis, scanKeys } from '../support/redis-keys.ts';
import { labFiles, startServiceLab } from '../support/service-lab.ts';

/** One container device that no agent owns: runs are planned and queued, never executed. */
const INVENTORY = `
devices:
  - id: fuzz-box-1
    name: Fuzz container box
    driver: docker
    model: fuzz-box
    platform: linux
    os: busybox
    firmware: '1.0'
    host: nobody
    tags: [fuzz]
    capabilities: { codecs: [h264, hevc], resolution: 1080p, memoryMb: 512, input: [dpad] }
    settings: { image: 'devlab/stb-reference:1', build: stb-reference-1, memoryMb: 64 }
`;

/** The whole catalog: two container manifests, so a run plans at most two jobs. */
const MANIFESTS: Record<string, string> = {
  'boot.manifest.yaml': `id: fuzz.boot
title: Boots
tags: [smoke, fuzz]
component: platform-boot
owner: qa
priority: 3
image: devlab/stb-reference:1
command: [/opt/conformance/run.sh, boot]
results: /results/junit.xml
`,
  'media.manifest.yaml': `id: fuzz.media
title: Plays HEVC
tags: [playback]
component: player
owner: qa
image: devlab/stb-reference:1
command: [/opt/conformance/run.sh, media]
requires: { codecs: [hevc], minResolution: 1080p }
results: /results/junit.xml
`,
};

export const AGENT_TOKEN = 'agent-fuzz-secret';

export interface FuzzApi {
  app: FastifyInstance;
  home: string;
  store: Store;
  redis: Redis;
  keys: LabKeys;
  inventory: readonly DeviceRecord[];
  /** The fuzz suites' catalog (two container tests). */
  catalog: LabCatalog;
  tokens: TokensRepo;
  close(): Promise<void>;
}

/**
 * The control plane's HTTP API as `devlab server` composes it (catalog from suite files, inventory with
 * live Redis states, the history ranker), on the service lab fixture: a SQLite file in a temp dir and the
 * real Redis under a key prefix of its own. Requests go through `app.inject()`; no agent is started.
 */
export async function startFuzzApi(options: { auth?: boolean } = {}): Promise<FuzzApi> {
  const files = labFiles({ name: `fuzz-${randomBytes(4).toString('hex')}`, inventoryYaml: INVENTORY });
  const suites = path.join(files.dir, 'suites');
  mkdirSync(path.join(suites, 'fuzz'), { recursive: true });
  for (const [name, text] of Object.entries(MANIFESTS)) writeFileSync(path.join(suites, 'fuzz', name), text);
  const { server, close } = await startServiceLab(files, {
    suites: [suites],
    auth: options.auth ?? false,
    agentToken: AGENT_TOKEN,
  }).catch(async (err: unknown) => {
    await files.remove();
    throw err;
  });
  return {
    app: server.api,
    home: files.home,
    store: server.store,
    redis: server.redis,
    keys: labKeys(files.prefix),
    inventory: server.devices.inventory,
    catalog: server.catalog,
    tokens: new TokensRepo(server.store.db),
    async close() {
      await close();
      await files.remove();
    },
  };
}

/** Closes the API and checks that nothing of its Redis prefix is left. */
export async function closeAndExpectNoKeys(api: FuzzApi): Promise<void> {
  const pattern = `${api.keys.queuePrefix}:*`;
  const probe = newRedis();
  try {
    await api.close();
    expect(await scanKeys(probe, pattern)).toEqual([]);
  } finally {
    probe.disconnect();
  }
}

export interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/**
 * Sends the request and checks the contract every answer keeps: never a 5xx, and a JSON object; a 4xx
 * carries a non-empty `error` string (and `field`, when present, is a string).
 */
export async function send(app: FastifyInstance, request: InjectOptions): Promise<Answer> {
  const res = await app.inject(request);
  const where = `${request.method} ${String(request.url)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeGreaterThanOrEqual(200);
  expect(res.statusCode, where).toBeLessThan(500);
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  const json = JSON.parse(res.body) as unknown;
  expect(typeof json === 'object' && json !== null, where).toBe(true);
  const body = json as Record<string, unknown>;
  if (res.statusCode >= 400) {
    expect(typeof body['error'] === 'string' && body['error'] !== '', where).toBe(true);
    if ('field' in body) expect(typeof body['field'], where).toBe('string');
  }
  return { status: res.statusCode, json: body };
}

/** Content types a client may get wrong, with and without parameters. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/json;;',
    'application/jsonx',
    'application/vnd.api+json',
    'text/plain',
    'text/json',
    'text/html; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/xml',
    '*/*',
    '',
    ' ',
    ';',
    'application/',
  ),
  fc.string({ maxLength: 30 }).filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e]*$/.test(s)),
);

/** Text that is not JSON (or not the JSON it looks like): truncations, garbage, comments, BOMs. */
export function brokenJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(valid, fc.nat()).map(([v, cut]) => {
      const text = JSON.stringify(v) ?? '';
      return text.slice(0, cut % (text.length + 1));
    }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.constantFrom(
      '',
      ' ',
      '{',
      '}',
      '{"query": }',
      "{'query': 'tag:smoke'}",
      '{"query": "tag:smoke",}',
      '// comment\n{}',
      '\uFEFF{}',
      'NaN',
      'undefined',
      '{"__proto__": {"polluted": true}}',
      '{"constructor": {"prototype": {"polluted": true}}}',
      '{"a": 1e999999}',
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      `{"query": "${'a'.repeat(5_000)}"}`,
      '\u0000',
    ),
  );
}
