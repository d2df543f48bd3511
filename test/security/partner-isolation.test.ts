import http from 'node:http';
import { expect as assert } from 'expect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriverRegistry } from '../../devices/default-registry.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { defineTest } from '../../suites/define-test.ts';
import { type AuthedApi, call, startAuthedApi } from '../api/authed-api.ts';
import { type LabHarness, startLabHarness, waitForRun } from '../support/lab-harness.ts';
import { dockerUp, redisUp, requireService } from '../support/services.ts';
import { rawRequest } from './raw-http.ts';
import { containerBox } from '../support/container-box.ts';

const INVENTORY = `
devices:
${containerBox({ id: 'sec-iso-box-1', name: 'security isolation box 1', model: 'sec-iso-box', host: 'agent-sec-iso', memoryMb: 32 })}${containerBox({ id: 'sec-iso-box-2', name: 'security isolation box 2', model: 'sec-iso-box', host: 'agent-sec-iso', memoryMb: 32 })}`;

/** Held open by the test until it has looked at the live run from both partners' sides. */
let release: () => void = () => {};
const gate = new Promise<void>((resolve) => {
  release = resolve;
});

const TESTS = [
  defineTest(
    {
      id: 'sec.iso.held',
      title: 'Held while the partners look',
      tags: ['held'],
      component: 'platform',
      owner: 'qa',
      timeoutMs: 60_000,
      requires: { drivers: ['docker'] },
    },
    async ({ container, attach, log }) => {
      const out = await container!.exec(['sh', '-c', 'echo acme-private-output']);
      attach('private.txt', out.stdout);
      log.info('waiting for the gate');
      await Promise.race([gate, new Promise((r) => setTimeout(r, 45_000))]);
      assert(out.stdout.trim()).toBe('acme-private-output');
    },
  ),
  defineTest(
    {
      id: 'sec.iso.quick',
      title: 'Quick',
      tags: ['quick'],
      component: 'platform',
      owner: 'qa',
      requires: { drivers: ['docker'] },
    },
    async ({ attach }) => {
      attach('globex.txt', 'globex-output');
    },
  ),
];

interface SseStream {
  status: number;
  contentType: string;
  text: () => string;
  events: () => { id: number; event: string; data: { runId: string; type: string } }[];
  waitFor(pred: (text: string) => boolean, timeoutMs?: number): Promise<void>;
  ended: Promise<void>;
  close(): void;
}

/** A live server-sent-events request: resolves once the headers are in, then keeps collecting. */
function openStream(
  baseUrl: string,
  path: string,
  token: string | null,
  headers: Record<string, string> = {},
) {
  const base = new URL(baseUrl);
  return new Promise<SseStream>((resolve, reject) => {
    const req = http.request({
      host: base.hostname,
      port: Number(base.port),
      path,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      const listeners = new Set<() => void>();
      res.on('data', (d: Buffer) => {
        text += d.toString();
        for (const l of listeners) l();
      });
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        text: () => text,
        events: () =>
          text
            .split('\n\n')
            .filter((block) => block.startsWith('id: '))
            .map((block) => {
              const lines = Object.fromEntries(
                block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
              );
              return { id: Number(lines['id']), event: lines['event']!, data: JSON.parse(lines['data']!) };
            }),
        waitFor: (pred, timeoutMs = 30_000) =>
          new Promise<void>((ok, fail) => {
            if (pred(text)) return ok();
            const timer = setTimeout(() => fail(new Error(`stream never matched; got:\n${text}`)), timeoutMs);
            const check = () => {
              if (!pred(text)) return;
              clearTimeout(timer);
              listeners.delete(check);
              ok();
            };
            listeners.add(check);
          }),
        ended,
        close: () => req.destroy(),
      });
    });
    req.end();
  });
}

describe('partners cannot reach each other through live event streams or listed artifacts', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  let lab: LabHarness;
  let api: AuthedApi;
  let acme: string;
  let globex: string;
  let admin: string;
  let acmeRun: string;
  let globexRun: string;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    if (!up) return;
    lab = await startLabHarness({
      inventory: parseInventory(INVENTORY, 'sec-iso.yaml'),
      tests: TESTS,
      registry: createDriverRegistry({}),
      agentIds: ['agent-sec-iso'],
      appUrl: 'http://127.0.0.1:9/',
    });
    api = await startAuthedApi(lab);
    acme = api.tokens.create('acme').token;
    globex = api.tokens.create('globex').token;
    admin = api.tokens.create('lab-ops', 'admin').token;
  });
  afterAll(async () => {
    release();
    for (const s of streams) s.close();
    await api?.close();
    await lab?.close();
  });

  it.skipIf(!up)(
    "a live run's event stream: its partner follows it, another partner gets a 404 and never an event",
    async () => {
      const submitted = await call(`${api.url}/api/runs`, acme, {
        method: 'POST',
        body: { query: 'tag:held', build: 'b-iso' },
      });
      expect(submitted.status).toBe(201);
      acmeRun = ((await submitted.json()) as { id: string }).id;
      const own = await openStream(api.url, `/api/runs/${acmeRun}/events`, acme);
      streams.push(own);
      expect(own.status).toBe(200);
      expect(own.contentType).toBe('text/event-stream');
      // The run is live: its test has started and is held at the gate.
      await own.waitFor((t) => t.includes('event: job.started'));
      expect(lab.store.runs.get(acmeRun)?.status).toBe('running');

      // A second partner's run beside it, so a leaking stream would have something to leak.
      const other = await call(`${api.url}/api/runs`, globex, {
        method: 'POST',
        body: { query: 'tag:quick', build: 'b-iso-globex' },
      });
      globexRun = ((await other.json()) as { id: string }).id;
      expect(await waitForRun(lab.store, globexRun, 60_000)).toBe('passed');

      const attempts: [string, string | null, Record<string, string>][] = [
        [`/api/runs/${acmeRun}/events`, globex, {}],
        [`/api/runs/${acmeRun}/events`, globex, { 'last-event-id': '0' }],
        [`/api/runs/${acmeRun}/events?after=0`, globex, {}],
        [`/api/runs/${encodeURIComponent(acmeRun)}/events`, globex, {}],
        [`/%61pi/runs/${acmeRun}/events`, globex, {}],
        [`/api/runs/${acmeRun}/events`, null, {}],
        [`/api/runs/${acmeRun}/events`, 'dlb_forged-token', {}],
        // The router decodes percent escapes: an encoded prefix must not skip the token check.
        [`/%61pi/runs/${acmeRun}/events`, null, {}],
        [`/%61%70%69/runs/${acmeRun}/events`, null, {}],
      ];
      for (const [path, token, headers] of attempts) {
        const stream = await openStream(api.url, path, token, headers);
        streams.push(stream);
        await stream.ended;
        const expected = token === globex ? 404 : 401;
        expect([path, token, stream.status]).toEqual([path, token, expected]);
        expect(stream.contentType).toContain('application/json');
        expect(stream.text()).not.toContain('event:');
        expect(stream.text()).not.toContain('"payload"');
      }

      // Globex's own stream replays only globex's run.
      const globexStream = await openStream(api.url, `/api/runs/${globexRun}/events`, globex);
      streams.push(globexStream);
      await globexStream.ended;
      expect(globexStream.events().length).toBeGreaterThan(2);
      expect(new Set(globexStream.events().map((e) => e.data.runId))).toEqual(new Set([globexRun]));

      release();
      await own.waitFor((t) => t.includes('event: run.finished'));
      await own.ended;
      expect(await waitForRun(lab.store, acmeRun, 30_000)).toBe('passed');
      const events = own.events();
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['job.started', 'job.finished']));
      // Acme's stream carried acme's run only, though globex's ran meanwhile.
      expect(new Set(events.map((e) => e.data.runId))).toEqual(new Set([acmeRun]));
    },
    90_000,
  );

  it.skipIf(!up)("artifacts listed in a partner's results are 404 to every other partner", async () => {
    expect(acmeRun).toBeDefined();
    const results = (await (await call(`${api.url}/api/runs/${acmeRun}/results`, acme)).json()) as {
      jobs: { artifacts: { id: string; name: string; url: string }[] }[];
    };
    const listed = results.jobs.flatMap((j) => j.artifacts);
    expect(listed.map((a) => a.name).sort()).toEqual(['private.txt', 'test.log']);
    for (const artifact of listed) {
      const own = await call(`${api.url}${artifact.url}`, acme);
      expect(own.status).toBe(200);
      if (artifact.name === 'private.txt') expect((await own.text()).trim()).toBe('acme-private-output');
      const foreign = await call(`${api.url}${artifact.url}`, globex);
      expect([artifact.name, foreign.status]).toEqual([artifact.name, 404]);
      expect(await foreign.text()).not.toContain('acme-private-output');
      for (const path of [`/%61pi/artifacts/${artifact.id}`, `/%61%70%69/artifacts/${artifact.id}`]) {
        const anonymous = await rawRequest(api.url, path);
        expect([path, anonymous.status]).toEqual([path, 401]);
        expect(anonymous.text).not.toContain('acme-private-output');
      }
      expect((await call(`${api.url}${artifact.url}`, admin)).status).toBe(200);
    }
    // Globex's own results never list acme's artifacts, nor does its run list show acme's run.
    const theirs = (await (await call(`${api.url}/api/runs/${globexRun}/results`, globex)).json()) as {
      jobs: { artifacts: { id: string }[] }[];
    };
    const theirIds = theirs.jobs.flatMap((j) => j.artifacts.map((a) => a.id));
    expect(theirIds.length).toBeGreaterThan(0);
    for (const a of listed) expect(theirIds).not.toContain(a.id);
    const runs = (await (await call(`${api.url}/api/runs?partner=acme&limit=500`, globex)).json()) as {
      id: string;
    }[];
    expect(runs.map((r) => r.id)).toEqual([globexRun]);
  });

  it.skipIf(!up)('percent-encoded API paths need a token like the plain ones', async () => {
    for (const path of [
      '/%61pi/runs',
      '/%61pi/runs?partner=acme',
      `/%61pi/runs/${acmeRun}/results`,
      `/%61pi/runs/${acmeRun}/junit`,
      '/ap%69/devices',
    ]) {
      const anonymous = await rawRequest(api.url, path);
      expect([path, anonymous.status]).toEqual([path, 401]);
      expect(anonymous.text).not.toContain(acmeRun);
    }
    const post = await rawRequest(api.url, `/%61pi/runs/${acmeRun}/cancel`, { method: 'POST' });
    expect(post.status).toBe(401);
    const submit = await rawRequest(api.url, '/%61pi/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partner: 'acme', query: 'tag:none-such' }),
    });
    expect(submit.status).toBe(401);
    // The open paths stay open, and only those.
    expect((await rawRequest(api.url, '/api/health')).status).toBe(200);
    expect((await rawRequest(api.url, '/api/%68ealth')).status).toBe(401);
  });
});
