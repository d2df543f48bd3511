import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReferenceApp, startReferenceApp } from '../../suites/reference-app/server.ts';

const TV_UA =
  'Mozilla/5.0 (Linux; tizen) AppleWebKit/537.36 Chrome/156 DevlabDevice/1.0 (model=api-tv; platform=tizen; fw=7.0; res=1080p; codecs=h264; hdr=none; mem=2048; input=dpad)';
const OTHER_UA = TV_UA.replace('model=api-tv', 'model=api-tv-2');

describe('reference app server (real HTTP on loopback)', () => {
  let app: ReferenceApp;
  const get = (path: string, ua = TV_UA) => fetch(new URL(path, app.url), { headers: { 'user-agent': ua } });
  const post = (path: string, body: unknown, ua = TV_UA) =>
    fetch(new URL(path, app.url), {
      method: 'POST',
      headers: { 'user-agent': ua, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    app = await startReferenceApp({ port: 0 });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('listens on an ephemeral loopback port', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves the app shell and its modules, and refuses paths outside public/', async () => {
    const index = await get('/');
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('/js/app.js');
    expect((await get('/js/app.js')).headers.get('content-type')).toContain('javascript');
    expect((await get('/%2e%2e/server.ts')).status).toBe(404);
    expect((await get('/nope.html')).status).toBe(404);
  });

  it('answers the catalog, title and search routes', async () => {
    const catalog = (await (await get('/api/titles')).json()) as {
      rows: { id: string }[];
      titles: { id: string }[];
    };
    expect(catalog.rows.map((r) => r.id)).toEqual(['featured', 'trending', 'documentaries', 'kids']);
    expect(catalog.titles.length).toBeGreaterThanOrEqual(15);
    const aurora = (await (await get('/api/titles/t-aurora')).json()) as { preferredCodec: string };
    expect(aurora.preferredCodec).toBe('hevc');
    expect((await get('/api/titles/t-none')).status).toBe(404);
    const found = (await (await get('/api/search?q=CORAL')).json()) as { results: { id: string }[] };
    expect(found.results.map((t) => t.id)).toEqual(['t-coral']);
    const none = (await (await get('/api/search?q=')).json()) as { results: unknown[] };
    expect(none.results).toEqual([]);
  });

  it('serves WebVTT subtitles with hh:mm:ss stamps', async () => {
    const res = await get('/api/subtitles/t-harbor/en');
    expect(res.headers.get('content-type')).toContain('text/vtt');
    const vtt = await res.text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
    expect(vtt).toContain('00:00:00.000 --> 00:00:20.000');
    expect((await get('/api/subtitles/t-harbor/fr')).status).toBe(404);
  });

  it('keeps resume positions per device, taken from the user agent', async () => {
    expect((await post('/api/progress', { titleId: 't-harbor', positionSec: 95.7 })).status).toBe(200);
    const mine = (await (await get('/api/progress?titleId=t-harbor')).json()) as { positionSec: number };
    expect(mine.positionSec).toBe(95);
    const theirs = (await (await get('/api/progress?titleId=t-harbor', OTHER_UA)).json()) as {
      positionSec: number;
    };
    expect(theirs.positionSec).toBe(0);
    const all = (await (await get('/api/progress')).json()) as {
      device: string;
      positions: Record<string, number>;
    };
    expect(all.device).toMatch(/^api-tv\//);
    expect(all.positions).toEqual({ 't-harbor': 95 });
    await fetch(new URL('/api/progress', app.url), { method: 'DELETE', headers: { 'user-agent': TV_UA } });
    expect(((await (await get('/api/progress')).json()) as { positions: object }).positions).toEqual({});
  });

  it('rejects malformed progress updates', async () => {
    expect((await post('/api/progress', { titleId: 't-none', positionSec: 5 })).status).toBe(400);
    expect((await post('/api/progress', { titleId: 't-harbor', positionSec: -1 })).status).toBe(400);
    const bad = await fetch(new URL('/api/progress', app.url), { method: 'POST', body: '{not json' });
    expect(bad.status).toBe(400);
    expect((await fetch(new URL('/api/titles', app.url), { method: 'PUT' })).status).toBe(405);
  });
});
