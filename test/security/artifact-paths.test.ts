import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { type AuthedApi, startAuthedApi } from '../api/authed-api.ts';
import type { LabHarness } from '../support/lab-harness.ts';
import { startIdleLab } from './idle-lab.ts';
import { redisUp, requireService } from '../support/services.ts';
import { type RawResponse, rawRequest } from './raw-http.ts';

/** Every regular file under `dir`, relative to it. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = path.join(rel, entry.name);
    if (entry.isDirectory()) out.push(...walk(dir, child));
    else out.push(child);
  }
  return out;
}

/** Markers of files that must never be served: system files, the store, the checkout. */
const FORBIDDEN = [/root:.*:0:0:/, /SQLite format 3/, /"name":\s*"devlab"/, /devlab architecture/];

function neverServed(res: RawResponse): void {
  for (const marker of FORBIDDEN)
    expect(res.text, `${res.status} ${res.text.slice(0, 200)}`).not.toMatch(marker);
}

describe('artifact names and artifact URLs cannot reach outside the data dir (real Redis, SQLite file)', async () => {
  const up = await requireService('Redis', redisUp);
  // The lab's home is created in a sandbox of its own, so anything written beside it would show.
  const sandbox = mkdtempSync(path.join(tmpdir(), 'devlab-sec-paths-'));
  let lab: LabHarness;
  let api: AuthedApi;
  let acme: string;
  let runId: string;
  let jobId: string;
  let otherRunId: string;
  const passwd = statSync('/etc/passwd');

  const upload = (
    query: string,
    body: Buffer | string,
    id = 'a1b2c3d4e5f6a7b8c9d0',
    token = 'agent-secret',
  ) =>
    rawRequest(lab.apiUrl, `/internal/artifacts/${id}?${query}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
      body,
    });
  const owner = (attempt = 1) => `run=${runId}&job=${jobId}&attempt=${attempt}`;
  let idSeq = 0;
  const freshId = () => (0xabc0000000 + ++idSeq).toString(16).padStart(20, '0');

  beforeAll(async () => {
    if (!up) return;
    const previous = process.env['TMPDIR'];
    process.env['TMPDIR'] = sandbox;
    try {
      // Agents are never started: the run's jobs only have to exist for uploads to be accepted.
      lab = await startIdleLab('paths');
    } finally {
      if (previous === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = previous;
    }
    api = await startAuthedApi(lab);
    acme = api.tokens.create('acme').token;
    const { run, plan } = await lab.controlPlane.submit({ partner: 'acme', build: 'b-paths' });
    runId = run.id;
    jobId = plan.jobs[0]!.jobId;
    otherRunId = (await lab.controlPlane.submit({ partner: 'globex', build: 'b-other' })).run.id;
  });
  afterAll(async () => {
    await api?.close();
    await lab?.close();
    rmSync(sandbox, { recursive: true, force: true });
  });

  it.skipIf(!up)('the lab lives in the sandbox and serves a normal upload', async () => {
    expect(path.dirname(lab.home)).toBe(sandbox);
    const res = await upload(`${owner()}&name=ok.txt`, 'plain content', freshId());
    expect(res.status).toBe(201);
  });

  const HOSTILE: [string, string][] = [
    ['dot-dot slashes', '../../etc/passwd'],
    ['deep dot-dot to the sandbox', '../../../../../escaped-canary.txt'],
    ['percent-encoded slashes, literal', '..%2f..%2fx'],
    ['double-encoded dot-dot', '%2e%2e%2f%2e%2e%2fescaped-canary.txt'],
    ['absolute path', '/etc/passwd'],
    ['absolute path into the sandbox', '/tmp/escaped-canary.txt'],
    ['NUL byte', 'report.txt\u0000../../../escaped-canary.txt'],
    ['backslashes', '..\\..\\..\\..\\escaped-canary.txt'],
    ['mixed separators', '..\\/..//\\escaped-canary.txt'],
    ['only dots', '..'],
    ['single dot', '.'],
    ['dot segments after a name', 'logs/../../../../escaped-canary.txt'],
    ['control characters and newlines', 'a\r\nb\tc\u001b[31md.txt'],
    ['header injection attempt', 'x.txt"\r\nSet-Cookie: pwn=1'],
    ['very long ASCII name', 'n'.repeat(5000)],
    ['very long multi-byte name', '日'.repeat(300)],
    ['very long emoji name', '😀'.repeat(200)],
    ['empty name', ''],
  ];

  for (const [label, name] of HOSTILE) {
    it.skipIf(!up)(`upload named ${label}: refused or stored inside the attempt's folder`, async () => {
      const id = freshId();
      const content = `content of ${label}`;
      const res = await upload(`${owner()}&name=${encodeURIComponent(name)}`, content, id);
      expect(res.status, res.text).toBeLessThan(500);
      if (res.status !== 201) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(JSON.parse(res.text)).toHaveProperty('error');
        expect(lab.store.artifacts.get(id)).toBeUndefined();
        return;
      }
      const row = lab.store.artifacts.get(id)!;
      expect(row.name).toBe(name);
      // One path segment inside artifacts/<run>/<job>/<attempt>/, starting with the artifact id.
      const segments = row.path.split(path.sep);
      expect(segments.slice(0, 3)).toEqual([runId, jobId, '1']);
      expect(segments).toHaveLength(4);
      expect(segments[3]!.startsWith(`${id}-`)).toBe(true);
      expect(segments[3]).not.toMatch(/[\\/]/);
      expect([...segments[3]!].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)).toBe(
        false,
      );
      expect(Buffer.byteLength(segments[3]!)).toBeLessThanOrEqual(255);
      const file = path.join(lab.home, 'artifacts', row.path);
      expect(readFileSync(file, 'utf8')).toBe(content);

      // Served back as exactly what was stored, under a harmless file name.
      const served = await rawRequest(api.url, `/api/artifacts/${id}`, {
        headers: { authorization: `Bearer ${acme}` },
      });
      expect(served.status).toBe(200);
      expect(served.text).toBe(content);
      const disposition = String(served.headers['content-disposition']);
      expect(disposition).toMatch(/^inline; filename="[\w.-]*"$/);
      expect(served.headers['set-cookie']).toBeUndefined();
    });
  }

  it.skipIf(!up)(
    'the query string decoded by the server (raw %2f, %00, %5c) cannot escape either',
    async () => {
      for (const raw of [
        '..%2f..%2f..%2f..%2fescaped-canary.txt',
        '%2fetc%2fpasswd',
        'a%00..%2f..%2fescaped-canary.txt',
        '..%5c..%5c..%5cescaped-canary.txt',
        '%c0%ae%c0%ae%2fescaped-canary.txt',
      ]) {
        const id = freshId();
        const res = await upload(`${owner()}&name=${raw}`, 'raw', id);
        expect([raw, res.status]).toEqual([raw, 201]);
        const row = lab.store.artifacts.get(id)!;
        expect(row.path.split(path.sep)).toHaveLength(4);
        expect(row.path.startsWith(path.join(runId, jobId, '1', `${id}-`))).toBe(true);
      }
    },
  );

  it.skipIf(!up)(
    'hostile ids, runs, jobs and attempts are refused with 4xx before anything is written',
    async () => {
      const cases: [string, string][] = [
        ['..%2f..%2fescaped-canary', `${owner()}&name=x`],
        ['..', `${owner()}&name=x`],
        ['ABCDEF0123456789', `${owner()}&name=x`],
        [freshId(), `run=..%2f..&job=${jobId}&attempt=1&name=x`],
        [freshId(), `run=${runId}&job=..%2f..%2f..&attempt=1&name=x`],
        [freshId(), `run=${otherRunId}&job=${jobId}&attempt=1&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=..%2f..&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=1.5&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=0&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=1e3&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=0x10&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=1e308&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=%201&name=x`],
        [freshId(), `run=${runId}&job=${jobId}&attempt=1`],
      ];
      for (const [id, query] of cases) {
        const res = await rawRequest(lab.apiUrl, `/internal/artifacts/${id}?${query}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', authorization: 'Bearer agent-secret' },
          body: 'x',
        });
        expect([id, query, res.status >= 400 && res.status < 500]).toEqual([id, query, true]);
      }
      // Without the agent token nobody uploads at all, whatever the name.
      const anon = await upload(`${owner()}&name=..%2f..%2fescaped-canary.txt`, 'x', freshId(), 'wrong');
      expect(anon.status).toBe(401);
    },
  );

  it.skipIf(!up)('traversal in download URLs never serves a file from outside the store', async () => {
    const auth = { authorization: `Bearer ${acme}` };
    const paths = [
      '/api/artifacts/../../../../etc/passwd',
      '/api/artifacts/..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/api/artifacts/%2e%2e%2f%2e%2e%2fdevlab.db',
      '/api/artifacts/..%5c..%5cdevlab.db',
      '/api/artifacts/%2fetc%2fpasswd',
      '/api/artifacts/a1b2c3d4e5f6a7b8c9d0%00',
      '/api/artifacts/a1b2c3d4e5f6a7b8c9d0%2f..%2f..%2f..%2fdevlab.db',
      '/api/artifacts/..',
      '/api/artifacts/.',
      `/api/artifacts/${'%2e%2e%2f'.repeat(30)}etc%2fpasswd`,
      '/dashboard/../../../../etc/passwd',
      '/dashboard/..%2f..%2f..%2fpackage.json',
      '/dashboard/%2e%2e/%2e%2e/%2e%2e/docs/ARCHITECTURE.md',
      '/dashboard/app.js/../../../package.json',
      '/dashboard/app.js%00.png',
      '/../../../../etc/passwd',
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/api/report/../../../../etc/passwd',
      '/internal/artifacts/../../../../etc/passwd',
    ];
    for (const url of [api.url, lab.apiUrl]) {
      for (const p of paths) {
        const res = await rawRequest(url, p, { headers: auth });
        expect([p, res.status >= 400 && res.status < 500]).toEqual([p, true]);
        neverServed(res);
      }
    }
    // The server is still up and still serves what it should.
    const health = await rawRequest(api.url, '/api/health');
    expect(health.status).toBe(200);
    const page = await rawRequest(api.url, '/dashboard/app.js');
    expect(page.status).toBe(200);
  });

  it.skipIf(!up)('nothing was written outside the attempt folders; the sandbox holds only the lab', () => {
    expect(readdirSync(sandbox)).toEqual([path.basename(lab.home)]);
    const files = walk(lab.home);
    const artifacts = files.filter((f) => f.startsWith(`artifacts${path.sep}`));
    // Every other file is the store itself.
    expect(files.filter((f) => !artifacts.includes(f)).every((f) => /^devlab\.db(-wal|-shm)?$/.test(f))).toBe(
      true,
    );
    expect(artifacts.length).toBeGreaterThan(HOSTILE.length / 2);
    for (const f of artifacts) {
      const segments = f.split(path.sep);
      expect([f, segments.length]).toEqual([f, 5]);
      expect(segments.slice(1, 4)).toEqual([runId, jobId, '1']);
      expect(segments[4]).toMatch(/^[0-9a-f]{20}-/);
    }
    expect(files.some((f) => f.includes('escaped-canary') && !f.startsWith('artifacts'))).toBe(false);
    // And nothing in the filesystem at large: the system file and the checkout are untouched.
    expect(statSync('/etc/passwd').mtimeMs).toBe(passwd.mtimeMs);
    expect(readdirSync(PROJECT_ROOT).some((f) => f.includes('escaped-canary'))).toBe(false);
    expect(readdirSync('/tmp').some((f) => f.includes('escaped-canary'))).toBe(false);
  });
});
