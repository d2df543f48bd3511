import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { DeviceStateStore } from '../../devices/state/state-store.ts';
import { buildApi } from '../../harness/api/app.ts';
import { liveDevicesProvider } from '../../harness/api/live-devices.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { historyRanker } from '../../harness/history/history-ranker.ts';
import { LabHistory } from '../../harness/history/lab-history.ts';
import { LabCatalog } from '../../harness/lab/lab-catalog.ts';
import { LabDevices } from '../../harness/lab/lab-devices.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { type LabKeys, labKeys } from '../../harness/queue/names.ts';
import { ControlPlane } from '../../harness/server/control-plane.ts';
import { migrateCatalog } from '../../harness/store/catalog-repo.ts';
import { Store } from '../../harness/store/store.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { fixedDurations } from '../support/lab-harness.ts';
import { REDIS_URL } from '../support/services.ts';
import { scanKeys } from '../support/redis-keys.ts';
import { removeLabKeys } from '../../harness/queue/remove-lab-keys.ts';

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
  inventory: DeviceRecord[];
  /** The fuzz suites' catalog (two container tests). */
  catalog: LabCatalog;
  tokens: TokensRepo;
  close(): Promise<void>;
}

/**
 * The control plane's HTTP API as `devlab server` composes it (catalog from suite files, inventory with
 * live Redis states, the analysis ranker), on a SQLite file in a temp dir and the real Redis under a key
 * prefix of its own. Requests go through `app.inject()`; no agent is started.
 */
export async function startFuzzApi(options: { auth?: boolean } = {}): Promise<FuzzApi> {
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-fuzz-api-'));
  const suites = path.join(home, 'suites', 'fuzz');
  mkdirSync(suites, { recursive: true });
  for (const [name, text] of Object.entries(MANIFESTS)) writeFileSync(path.join(suites, name), text);
  const store = Store.open(path.join(home, 'devlab.db'));
  migrateCatalog(store.db);
  const redis = redisConnection(REDIS_URL);
  const keys = labKeys(`devlab-fuzz-${process.pid}-${randomBytes(4).toString('hex')}`);
  const catalog = await LabCatalog.load(store, [path.join(home, 'suites')]);
  if (catalog.catalog.entries.length !== Object.keys(MANIFESTS).length)
    throw new Error(`fuzz catalog did not load: ${JSON.stringify(catalog.catalog.problems)}`);
  const inventory = parseInventory(INVENTORY, 'fuzz-inventory.yaml');
  const devices = new LabDevices(inventory, new DeviceStateStore(redis, { prefix: keys.keyPrefix }));
  const history = new LabHistory(store, { windowDays: 90, maxRows: 1_000_000 });
  const controlPlane = new ControlPlane({
    store,
    redis,
    resolveTests: (query, historyPartner) => catalog.select(query, history.queryHistory(historyPartner)),
    resolveDevices: (selector) => devices.select(selector),
    get ranker() {
      return historyRanker(history, null);
    },
    durations: fixedDurations,
    keys,
  });
  history.follow(controlPlane.events);
  await controlPlane.start();
  const tokens = new TokensRepo(store.db);
  const app = buildApi({
    controlPlane,
    artifacts: new ArtifactStore(home, store.artifacts),
    agentToken: AGENT_TOKEN,
    tokens,
    auth: { enabled: options.auth ?? false },
    devices: liveDevicesProvider(redis, inventory, { prefix: keys.keyPrefix }),
    dashboard: false,
  });
  await app.ready();
  return {
    app,
    home,
    store,
    redis,
    keys,
    inventory,
    catalog,
    tokens,
    async close() {
      await controlPlane.stop();
      await app.close();
      await removeLabKeys(redis, keys);
      redis.disconnect();
      store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Closes the API and checks that nothing of its Redis prefix is left. */
export async function closeAndExpectNoKeys(api: FuzzApi): Promise<void> {
  const pattern = `${api.keys.queuePrefix}:*`;
  const probe = api.redis.duplicate();
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
