import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveDevicesProvider } from '../../harness/api/live-devices.ts';
import { type AuthedApi, call, startAuthedApi } from '../api/authed-api.ts';
import type { LabHarness } from '../support/lab-harness.ts';
import { idleLabInventory, startIdleLab } from './idle-lab.ts';
import { redisUp, requireService } from '../support/services.ts';
import { type RawResponse, rawRequest } from './raw-http.ts';

const JSON_LIMIT = 64 * 1024;
const ARTIFACT_LIMIT = 50 * 1024 * 1024;

function expect413(res: RawResponse, what: string): void {
  expect([what, res.status]).toEqual([what, 413]);
  const body = JSON.parse(res.text) as { error: string; field?: string };
  expect(body.error).toMatch(/too large/i);
  expect(body.field).toBe('body');
}

/** A JSON document of exactly `bytes` bytes whose one field would be valid if it were short. */
function jsonOf(bytes: number, field = 'build'): string {
  const head = `{"${field}":"`;
  return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
}

describe('oversized request bodies answer 413 with a message and the server keeps working', async () => {
  const up = await requireService('Redis', redisUp);
  let lab: LabHarness;
  let api: AuthedApi;
  let admin: string;
  let runId: string;
  let jobId: string;
  const inventory = idleLabInventory('limits');
  const deviceId = inventory[0]!.id;
  let idSeq = 0;
  const freshId = () => (0xfeed000000 + ++idSeq).toString(16).padStart(20, '0');

  beforeAll(async () => {
    if (!up) return;
    // Agents are never started: the limits are the HTTP layer's, the run's jobs only have to exist.
    lab = await startIdleLab('limits', inventory);
    api = await startAuthedApi(lab, {
      bodyLimitBytes: JSON_LIMIT,
      devices: liveDevicesProvider(lab.redis, inventory, { prefix: lab.keys.keyPrefix }),
    });
    admin = api.tokens.create('lab-ops', 'admin').token;
    const { run, plan } = await lab.controlPlane.submit({ partner: 'acme', build: 'b-limits' });
    runId = run.id;
    jobId = plan.jobs[0]!.jobId;
  });
  afterAll(async () => {
    await api?.close();
    await lab?.close();
  });

  const routes = () => [
    { method: 'POST', path: '/api/runs' },
    { method: 'POST', path: `/api/runs/${runId}/cancel` },
    { method: 'POST', path: `/api/devices/${deviceId}/block` },
    { method: 'POST', path: `/api/devices/${deviceId}/unblock` },
    { method: 'POST', path: `/api/devices/${deviceId}/drain` },
  ];

  it.skipIf(!up)('every JSON route: one byte over the limit is a 413 naming the body', async () => {
    for (const { method, path } of routes()) {
      const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
      const over = await rawRequest(api.url, path, {
        method,
        headers,
        body: jsonOf(JSON_LIMIT + 1, 'reason'),
      });
      expect413(over, `${method} ${path}`);
    }
    // Exactly at the limit the body is read and judged on its content (here: a field too long or unknown).
    const at = await rawRequest(api.url, '/api/runs', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: jsonOf(JSON_LIMIT),
    });
    expect(at.status).toBe(400);
    expect(JSON.parse(at.text)).toMatchObject({ field: 'build' });
  });

  it.skipIf(!up)(
    'every JSON route: no content-length (chunked) and other content types are limited too',
    async () => {
      for (const { method, path } of routes()) {
        for (const type of ['application/json', 'text/plain', 'application/octet-stream']) {
          const res = await rawRequest(api.url, path, {
            method,
            headers: { authorization: `Bearer ${admin}`, 'content-type': type },
            body: jsonOf(4 * JSON_LIMIT, 'reason'),
            chunked: true,
          });
          // Raw bytes are for the artifact upload alone: elsewhere they are refused before being read.
          if (type === 'application/octet-stream') expect([path, res.status]).toEqual([path, 415]);
          else expect413(res, `${method} ${path} (${type}, chunked)`);
        }
      }
    },
  );

  it.skipIf(!up)('artifact uploads: over 50 MB is a 413, with or without a content-length', async () => {
    const big = Buffer.alloc(ARTIFACT_LIMIT + 1, 0x61);
    const headers = { 'content-type': 'application/octet-stream', authorization: 'Bearer agent-secret' };
    const query = `run=${runId}&job=${jobId}&attempt=1&name=big.bin`;
    const declared = await rawRequest(lab.apiUrl, `/internal/artifacts/${freshId()}?${query}`, {
      method: 'PUT',
      headers,
      body: big,
    });
    expect413(declared, 'upload with content-length');
    const streamed = await rawRequest(lab.apiUrl, `/internal/artifacts/${freshId()}?${query}`, {
      method: 'PUT',
      headers,
      body: big,
      chunked: true,
    });
    expect413(streamed, 'chunked upload');
    // A JSON body is no artifact: refused, whatever its size.
    const json = await rawRequest(lab.apiUrl, `/internal/artifacts/${freshId()}?${query}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: jsonOf(2 * 1024 * 1024),
    });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.text)).toMatchObject({ field: 'body' });
    // Nothing of them was stored.
    expect(lab.store.artifacts.listByJob(jobId)).toEqual([]);
    // Just under the limit is stored whole.
    const id = freshId();
    const fits = await rawRequest(lab.apiUrl, `/internal/artifacts/${id}?${query}`, {
      method: 'PUT',
      headers,
      body: big.subarray(0, ARTIFACT_LIMIT),
    });
    expect(fits.status).toBe(201);
    expect(lab.store.artifacts.get(id)?.size).toBe(ARTIFACT_LIMIT);
  });

  it.skipIf(!up)('an upload without the agent token is refused before its body is read', async () => {
    // Send 1 MB of a declared 20 MB and hold the rest back: the answer must come without it.
    const base = new URL(lab.apiUrl);
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({
        host: base.hostname,
        port: Number(base.port),
        method: 'PUT',
        path: `/internal/artifacts/${freshId()}?run=${runId}&job=${jobId}&attempt=1&name=x.bin`,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(20 * 1024 * 1024),
          authorization: 'Bearer not-the-agent',
        },
        agent: false,
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error('no answer while the body was incomplete: the body is read before the token check'));
      }, 3000);
      req.on('response', (r) => {
        let text = '';
        r.on('data', (d: Buffer) => (text += d.toString()));
        r.on('end', () => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: r.statusCode ?? 0, text });
        });
      });
      req.on('error', () => {});
      req.write(Buffer.alloc(1024 * 1024, 0x62));
    });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toHaveProperty('error');
  });

  it.skipIf(!up)('a burst of oversized requests leaves the server answering normally', async () => {
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        rawRequest(api.url, '/api/runs', { method: 'POST', headers, body: jsonOf(2 * 1024 * 1024) }),
      ),
    );
    for (const res of burst) expect413(res, 'burst');
    expect((await call(`${api.url}/api/health`, null)).status).toBe(200);
    const small = await call(`${api.url}/api/runs`, admin, {
      method: 'POST',
      body: { partner: 'acme', build: 'after-burst', query: 'tag:none-such' },
    });
    // Planned and answered as usual: this query selects no test, which the API says (422).
    expect(small.status).toBe(422);
    expect(await small.json()).toMatchObject({ error: "no test matched the query 'tag:none-such'" });
    const blocked = await call(`${api.url}/api/devices/${deviceId}/block`, admin, {
      method: 'POST',
      body: { reason: 'still works' },
    });
    expect(await blocked.json()).toMatchObject({ id: deviceId, state: 'blocked' });
    const upload = await rawRequest(
      lab.apiUrl,
      `/internal/artifacts/${freshId()}?run=${runId}&job=${jobId}&attempt=1&name=small.txt`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', authorization: 'Bearer agent-secret' },
        body: 'small',
      },
    );
    expect(upload.status).toBe(201);
  });
});

describe('a megabyte of bad input gets a small answer (no amplification)', async () => {
  const up = await requireService('Redis', redisUp);
  let lab: LabHarness;
  let api: AuthedApi;
  let admin: string;

  beforeAll(async () => {
    if (!up) return;
    // The server's default body limit (1 MiB), as `devlab server` runs.
    lab = await startIdleLab('amplify');
    api = await startAuthedApi(lab);
    admin = api.tokens.create('lab-ops', 'admin').token;
  });
  afterAll(async () => {
    await api?.close();
    await lab?.close();
  });

  it.skipIf(!up)('raw bytes sent to a JSON route are refused, not parsed and listed back', async () => {
    for (const path of ['/api/runs/preview', '/api/runs']) {
      const res = await rawRequest(api.url, path, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(1024 * 1024 - 64).toString('latin1'),
      });
      expect([path, res.status]).toEqual([path, 415]);
      expect(res.text.length).toBeLessThan(4096);
    }
  });

  it.skipIf(!up)('an error quoting what was sent is cut to a bounded size', async () => {
    // An unknown key is named in the error (field and message): here a 900 KB one.
    const res = await rawRequest(api.url, '/api/runs/preview', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ['k'.repeat(900 * 1024)]: 1 }),
    });
    expect(res.status).toBe(400);
    expect(res.text.length).toBeLessThan(4096);
    expect(JSON.parse(res.text).error).toMatch(/more characters\)$/);
  });
});
