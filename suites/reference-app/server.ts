import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTitle, ROWS, searchTitles, subtitlesVtt, TITLES } from './catalog.ts';
import { deviceKey } from './device-token.ts';
import { ProgressStore } from './progress-store.ts';
import { readStatic } from './static-files.ts';

export interface ReferenceAppOptions {
  /** 0 (default) picks an ephemeral port. */
  port?: number;
  host?: '127.0.0.1';
}

export interface ReferenceApp {
  /** Base URL with a trailing slash, e.g. http://127.0.0.1:41234/ */
  url: string;
  close(): Promise<void>;
}

const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');
const MAX_BODY = 16 * 1024;

function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function isProgressBody(v: unknown): v is { titleId: string; positionSec: number } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['titleId'] === 'string' && typeof o['positionSec'] === 'number' && o['positionSec'] >= 0;
}

async function handleProgress(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  store: ProgressStore,
): Promise<void> {
  const device = deviceKey(req.headers['user-agent'] ?? '');
  if (req.method === 'GET') {
    const titleId = url.searchParams.get('titleId');
    if (titleId) return json(res, 200, { titleId, positionSec: store.get(device, titleId) });
    return json(res, 200, { device, positions: store.all(device) });
  }
  if (req.method === 'POST') {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      return json(res, 400, { error: 'invalid JSON body' });
    }
    if (!isProgressBody(body) || !findTitle(body.titleId)) {
      return json(res, 400, { error: 'expected {titleId: known title, positionSec: number >= 0}' });
    }
    store.set(device, body.titleId, Math.floor(body.positionSec));
    return json(res, 200, { titleId: body.titleId, positionSec: store.get(device, body.titleId) });
  }
  if (req.method === 'DELETE') {
    store.clear(device);
    return json(res, 200, { cleared: device });
  }
  return json(res, 405, { error: 'method not allowed' });
}

async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  store: ProgressStore,
): Promise<void> {
  const parts = url.pathname.split('/').filter(Boolean);
  if (url.pathname === '/api/progress') return handleProgress(req, res, url, store);
  if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/api/health') return json(res, 200, { ok: true });
  if (url.pathname === '/api/titles') return json(res, 200, { rows: ROWS, titles: TITLES });
  if (url.pathname === '/api/search') {
    const q = url.searchParams.get('q') ?? '';
    return json(res, 200, { query: q, results: searchTitles(q) });
  }
  if (parts[1] === 'titles' && parts.length === 3) {
    const t = findTitle(parts[2]!);
    return t ? json(res, 200, t) : json(res, 404, { error: 'no such title' });
  }
  if (parts[1] === 'subtitles' && parts.length === 4) {
    const vtt = subtitlesVtt(parts[2]!, parts[3]!);
    return vtt ? send(res, 200, vtt, 'text/vtt; charset=utf-8') : json(res, 404, { error: 'no such track' });
  }
  return json(res, 404, { error: 'no such route' });
}

/** Serves the reference streaming app and its catalog API on loopback. */
export async function startReferenceApp(options: ReferenceAppOptions = {}): Promise<ReferenceApp> {
  const host = options.host ?? '127.0.0.1';
  const store = new ProgressStore();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const work = url.pathname.startsWith('/api/')
      ? handleApi(req, res, url, store)
      : readStatic(PUBLIC_DIR, url.pathname).then((file) =>
          file ? send(res, 200, file.body, file.contentType) : send(res, 404, 'not found', 'text/plain'),
        );
    work.catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  // Test browsers keep connections alive; without this close() would wait for them to time out.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
