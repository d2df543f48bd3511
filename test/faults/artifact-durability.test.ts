import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { Store } from '../../harness/store/store.ts';
import { type DevlabProcess, spawnDevlab } from '../support/agent-process.ts';
import { canMount, mountFull, mountReadOnly, unmountAll } from '../support/mounts.ts';
import { type LabFiles, labFiles, writeSuite } from '../support/service-lab.ts';
import { dockerUp, redisUp, requireService } from '../support/services.ts';
import { until } from './fault-lab.ts';
import { containerBox } from '../support/container-box.ts';

/**
 * Artifacts are durable (issue #15): an agent spools each artifact on its own disk and uploads it until
 * the control plane has it, across a control-plane outage and its own restart; a read-only or full
 * artifact folder is answered 503/507, logged on both sides and retried; a full spool drops the oldest
 * evidence of passed attempts first and the loss is recorded. The control plane and the agents run as
 * separate `devlab` processes on the real Redis, Docker engine and SQLite.
 */

interface TestSpec {
  id: string;
  pass: boolean;
  sleepMs: number;
  /** Size of its `evidence.bin`; with `notes`, a small `notes.txt` too. */
  bytes: number;
  notes: boolean;
}

/** The bytes a test attaches (the suite computes the same): checked byte for byte once stored. */
const evidence = (id: string, bytes: number) => Buffer.alloc(bytes, `${id}:evidence:`);
const notes = (id: string) => `notes of ${id}\n`;

function suiteSource(tag: string, specs: TestSpec[]): string {
  return `
import { defineTest } from '${PROJECT_ROOT}/suites/define-test.ts';
const specs = ${JSON.stringify(specs)};
export default specs.map((s) =>
  defineTest(
    { id: s.id, title: s.id, tags: ['${tag}'], component: 'artifacts', owner: 'qa', timeoutMs: 60000, retries: 0 },
    async (ctx) => {
      await new Promise((r) => setTimeout(r, s.sleepMs));
      ctx.attach('evidence.bin', Buffer.alloc(s.bytes, s.id + ':evidence:'));
      if (s.notes) ctx.attach('notes.txt', 'notes of ' + s.id + '\\n');
      if (!s.pass) throw new Error('expected: ' + s.id + ' fails');
    },
  ),
);
`;
}

const box = (id: string, host: string) =>
  containerBox({ id, name: id, model: 'artifact-box', host, memoryMb: 32 });

interface JobResult {
  id: string;
  testId: string;
  verdict: string | null;
  attemptsDetail: { attempt: number; status: string; deviceId: string | null }[];
  artifacts: {
    id: string;
    attempt: number;
    name: string;
    size: number;
    url: string;
    state: string;
    reason: string | null;
  }[];
}

/** A lab of its own (data dir, Redis prefix, suite, inventory) with its server and agents as processes. */
class ArtifactLab {
  readonly dir: string;
  readonly home: string;
  readonly artifactsDir: string;
  readonly env: Record<string, string>;
  readonly suites: string;
  readonly inventory: string;
  readonly processes: DevlabProcess[] = [];
  private readonly files: LabFiles;
  server: DevlabProcess | null = null;
  url = '';
  private port = 0;

  constructor(
    readonly name: string,
    readonly tag: string,
    specs: TestSpec[],
    hosts: Record<string, string[]>,
    env: Record<string, string> = {},
  ) {
    const devices = Object.entries(hosts).flatMap(([host, ids]) => ids.map((id) => box(id, host)));
    this.files = labFiles({
      name: `artifacts-${name}`,
      inventoryYaml: `devices:${devices.join('')}\n`,
      // The agents' spool and upload lines are info and warn; JSON lines (stderr is a pipe).
      env: { DEVLAB_LOG_LEVEL: 'info', ...env },
    });
    ({ dir: this.dir, home: this.home, inventory: this.inventory, env: this.env } = this.files);
    this.artifactsDir = path.join(this.home, 'artifacts');
    mkdirSync(this.artifactsDir, { recursive: true });
    this.suites = writeSuite(this.dir, tag, suiteSource(tag, specs));
  }

  spoolDir(host: string): string {
    return path.join(this.home, 'spool', host);
  }

  /** The control plane as its own process, on the same port every time (agents keep their URL). */
  async startServer(): Promise<void> {
    this.port ||= await freePort();
    this.server = await spawnDevlab(
      'server',
      ['--port', String(this.port), '--suites', this.suites, '--inventory', this.inventory],
      this.env,
      { ready: 'devlab server listening', startTimeoutMs: 90_000, track: (p) => this.processes.push(p) },
    );
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** kill -9 of the control plane; resolves once it is gone. */
  async killServer(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
    const gone = new Promise((r) => server.child.once('exit', r));
    server.kill9();
    await gone;
  }

  startAgent(host: string): Promise<DevlabProcess> {
    return spawnDevlab(
      'agent',
      [
        '--host',
        host,
        '--inventory',
        this.inventory,
        '--suites',
        this.suites,
        '--server',
        this.url,
        '--app-url',
        'http://127.0.0.1:9/',
      ],
      this.env,
      { ready: 'devlab agent ', startTimeoutMs: 90_000, track: (p) => this.processes.push(p) },
    );
  }

  async api<T>(pathname: string, init?: RequestInit): Promise<T> {
    const res = await fetch(new URL(pathname, this.url), init);
    if (!res.ok)
      throw new Error(`${init?.method ?? 'GET'} ${pathname}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async submit(): Promise<{ id: string; jobs: { id: string; testId: string }[] }> {
    return this.api('/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `tag:${this.tag}`, options: { ordering: 'fifo' } }),
    });
  }

  async results(runId: string): Promise<{ run: { status: string; done: boolean }; jobs: JobResult[] }> {
    return this.api(`/api/runs/${runId}/results`);
  }

  async waitForRun(runId: string, timeoutMs: number): Promise<string> {
    const { run } = await until(
      `run ${runId} to finish`,
      async () => {
        const r = await this.results(runId);
        return r.run.done ? r : null;
      },
      timeoutMs,
      250,
    );
    return run.status;
  }

  /** The stored bytes of an artifact (through the API, as a CI job downloads it). */
  async download(url: string): Promise<{ status: number; body: Buffer }> {
    const res = await fetch(new URL(url, this.url));
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  }

  output(): string {
    return this.processes.map((p) => p.output()).join('\n');
  }

  async close(): Promise<void> {
    for (const p of this.processes) await p.stop();
    unmountAll(this.dir);
    await this.files.remove();
  }
}

/** pino JSON lines of a process's output. */
function logLines(output: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the process's end
    }
  }
  return lines;
}

/** Every artifact of every passed attempt is stored with exactly the bytes its test attached. */
async function expectAllStored(lab: ArtifactLab, runId: string, specs: TestSpec[]): Promise<number> {
  const { jobs } = await lab.results(runId);
  let count = 0;
  for (const job of jobs) {
    const spec = specs.find((s) => s.id === job.testId)!;
    // An infrastructure error may end an attempt before its test made anything; every other attempt counts.
    for (const attempt of job.attemptsDetail.filter((a) => a.status !== 'error')) {
      const mine = job.artifacts.filter((a) => a.attempt === attempt.attempt);
      const expected = spec.notes ? ['evidence.bin', 'notes.txt'] : ['evidence.bin'];
      expect(mine.map((a) => a.name).sort(), `${job.testId} attempt ${attempt.attempt}`).toEqual(expected);
      for (const a of mine) {
        const { status, body } = await lab.download(a.url);
        expect(status, `${job.testId} ${a.name}`).toBe(200);
        const want = a.name === 'notes.txt' ? Buffer.from(notes(spec.id)) : evidence(spec.id, spec.bytes);
        expect(body.equals(want), `${job.testId} ${a.name}: the bytes the test attached`).toBe(true);
        count++;
      }
    }
  }
  return count;
}

/** Files under the artifacts folder, relative (the upload temp folder excluded when empty). */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}

const OUTAGE_MS = 30_000;

describe('artifacts are durable (real Redis, Docker engine, SQLite; server and agents as processes)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const mounts = up && canMount();
  if (up && !mounts) console.warn('skipping the read-only and full-disk cases: this process cannot mount');
  const labs: ArtifactLab[] = [];
  afterAll(async () => {
    for (const lab of labs) await lab.close();
  });

  it.skipIf(!up)(
    `loses no artifact across a ${OUTAGE_MS / 1000} s control-plane outage (kill -9) and an agent kill -9 during it`,
    async () => {
      // Two devices, 20 tests of 1.5 s, two artifacts each: most of them are made while the server is away.
      const specs: TestSpec[] = Array.from({ length: 20 }, (_, i) => ({
        id: `outage.t${String(i).padStart(2, '0')}`,
        pass: true,
        sleepMs: 1500,
        bytes: 8 * 1024 + i,
        notes: true,
      }));
      const lab = new ArtifactLab('outage', 'outage', specs, { 'art-a': ['art-box-1', 'art-box-2'] });
      labs.push(lab);
      await lab.startServer();
      const firstLife = await lab.startAgent('art-a');
      const run = await lab.submit();
      // The first results are in before the outage: uploads work while the server is there.
      await until(
        'a first finished job',
        async () => (await lab.results(run.id)).jobs.some((j) => j.verdict !== null),
        60_000,
        100,
      );
      const killedAt = Date.now();
      await lab.killServer();

      // Halfway through the outage the agent is killed too; what it spooled survives it.
      await new Promise((r) => setTimeout(r, OUTAGE_MS / 3));
      firstLife.kill9();
      await until(
        'the agent to exit',
        () => firstLife.child.exitCode !== null || firstLife.child.signalCode !== null,
      );
      const spooled = readdirSync(lab.spoolDir('art-a')).filter((n) => n.endsWith('.json'));
      expect(spooled.length, 'artifacts spooled while the control plane was away').toBeGreaterThan(4);
      const secondLife = await lab.startAgent('art-a');

      await new Promise((r) => setTimeout(r, Math.max(0, killedAt + OUTAGE_MS - Date.now())));
      await lab.startServer();
      expect(await lab.waitForRun(run.id, 120_000)).toBe('passed');
      // Every artifact of every attempt ends stored, byte for byte; the spool is empty again.
      await until('the spool to drain', () => readdirSync(lab.spoolDir('art-a')).length === 0, 30_000, 200);
      const stored = await expectAllStored(lab, run.id, specs);
      expect(stored).toBeGreaterThanOrEqual(specs.length * 2);

      // The first life logged the failed uploads with whose they are; the second one sent what it found.
      const failed = logLines(firstLife.output()).filter((l) =>
        String(l['msg']).startsWith('artifact upload failed'),
      );
      expect(failed.length).toBeGreaterThan(0);
      expect(failed[0]).toMatchObject({ level: 40, run: run.id, device: expect.stringMatching(/^art-box-/) });
      expect(failed[0]).toHaveProperty('job');
      expect(failed[0]).toHaveProperty('attempt');
      const resumed = logLines(secondLife.output()).find((l) =>
        String(l['msg']).startsWith('artifacts left in the spool'),
      );
      expect(resumed?.['artifacts']).toBe(spooled.length);
      // No artifact was given up on along the way (an unreadable spool copy, a refusal).
      const errors = [firstLife, secondLife].flatMap((p) =>
        logLines(p.output()).filter((l) => Number(l['level']) >= 50 && 'artifact' in l),
      );
      expect(errors).toEqual([]);
      // Nothing half-written or orphaned under the artifacts folder: exactly one file per artifact.
      expect(filesUnder(lab.artifactsDir)).toHaveLength(stored);
    },
    240_000,
  );

  it.skipIf(!mounts)(
    'a read-only, then a full artifact folder: 503 and 507 logged on both sides, retried, then all stored',
    async () => {
      const specs: TestSpec[] = Array.from({ length: 5 }, (_, i) => ({
        id: `readonly.t${i}`,
        pass: i !== 2,
        sleepMs: 200,
        bytes: 16 * 1024,
        notes: true,
      }));
      const lab = new ArtifactLab('readonly', 'readonly', specs, { 'art-ro': ['art-ro-box'] });
      labs.push(lab);
      // Root ignores file modes: a read-only bind mount makes every write fail, with EROFS.
      mountReadOnly(lab.artifactsDir);
      await lab.startServer();
      const agent = await lab.startAgent('art-ro');
      const run = await lab.submit();
      // The run's results do not wait for its artifacts.
      expect(await lab.waitForRun(run.id, 60_000)).toBe('failed');
      const answered = (status: number) => () =>
        logLines(agent.output()).some(
          (l) => String(l['msg']).startsWith('artifact upload failed') && l['status'] === status,
        );
      await until('a 503 answer logged by the agent', answered(503), 20_000);
      const serverLog = () => logLines(lab.server!.output());
      const refused = serverLog().find((l) => l['code'] === 'EROFS');
      expect(refused).toMatchObject({ level: 50, run: run.id, status: 503, device: 'art-ro-box' });
      expect(refused).toHaveProperty('job');
      expect(refused).toHaveProperty('attempt');
      expect(String(refused?.['msg'])).toMatch(/artifact storage is read-only \(EROFS\)/);
      expect((refused?.['err'] as { code?: string })?.code).toBe('EROFS');
      expect((await lab.results(run.id)).jobs.flatMap((j) => j.artifacts)).toEqual([]);

      // Then the disk is full (stacked over the read-only mount): 507, logged with ENOSPC.
      mountFull(lab.artifactsDir);
      await until('a 507 answer logged by the agent', answered(507), 20_000);
      expect(serverLog().find((l) => l['code'] === 'ENOSPC')).toMatchObject({ level: 50, status: 507 });
      expect((await lab.results(run.id)).jobs.flatMap((j) => j.artifacts)).toEqual([]);

      // Writable again: every artifact of every attempt is stored, byte for byte.
      unmountAll(lab.artifactsDir);
      await until('the spool to drain', () => readdirSync(lab.spoolDir('art-ro')).length === 0, 30_000, 200);
      expect(await expectAllStored(lab, run.id, specs)).toBe(specs.length * 2);
      expect(filesUnder(lab.artifactsDir)).toHaveLength(specs.length * 2);
    },
    180_000,
  );

  it.skipIf(!mounts)(
    'a full spool drops the oldest evidence of passed attempts first, logged and recorded as lost',
    async () => {
      // One device, in this order; each attaches one 20,000-byte artifact; the spool holds three of them.
      const order: [string, boolean][] = [
        ['spool.1-fails', false],
        ['spool.2-passes', true],
        ['spool.3-passes', true],
        ['spool.4-fails', false],
        ['spool.5-passes', true],
        ['spool.6-passes', true],
      ];
      const specs: TestSpec[] = order.map(([id, pass]) => ({
        id,
        pass,
        sleepMs: 100,
        bytes: 20_000,
        notes: false,
      }));
      const lab = new ArtifactLab(
        'spool',
        'spool',
        specs,
        { 'art-sp': ['art-sp-box'] },
        { DEVLAB_SPOOL_MAX_MB: '0.07' },
      );
      labs.push(lab);
      mountReadOnly(lab.artifactsDir);
      await lab.startServer();
      const agent = await lab.startAgent('art-sp');
      const run = await lab.submit();
      expect(await lab.waitForRun(run.id, 60_000)).toBe('failed');
      const dropped = () =>
        logLines(agent.output()).filter((l) =>
          String(l['msg']).startsWith('artifact dropped from the full spool'),
        );
      await until('three artifacts dropped from the spool', () => dropped().length === 3, 20_000);
      const jobOf = new Map(run.jobs.map((j) => [j.id, j.testId]));
      // Each drop is a warning that says whose evidence it was and why.
      for (const line of dropped()) {
        expect(line).toMatchObject({
          level: 40,
          run: run.id,
          attempt: 1,
          device: 'art-sp-box',
          attemptStatus: 'passed',
        });
        expect(String(line['reason'])).toMatch(/spool was full .*evidence of a passed attempt goes first/);
      }
      expect(dropped().map((l) => jobOf.get(String(l['job'])))).toEqual([
        'spool.2-passes',
        'spool.3-passes',
        'spool.5-passes',
      ]);

      unmountAll(lab.artifactsDir);
      await until('the spool to drain', () => readdirSync(lab.spoolDir('art-sp')).length === 0, 30_000, 200);
      const { jobs } = await lab.results(run.id);
      const byTest = new Map(jobs.map((j) => [j.testId, j]));
      // The failures' evidence and the newest pass are stored; the dropped ones are recorded as lost.
      for (const id of ['spool.1-fails', 'spool.4-fails', 'spool.6-passes']) {
        const [artifact] = byTest.get(id)!.artifacts;
        expect([id, artifact?.state, artifact?.reason]).toEqual([id, 'stored', null]);
        const { status, body } = await lab.download(artifact!.url);
        expect([id, status, body.equals(evidence(id, 20_000))]).toEqual([id, 200, true]);
      }
      for (const id of ['spool.2-passes', 'spool.3-passes', 'spool.5-passes']) {
        const [artifact] = byTest.get(id)!.artifacts;
        expect(artifact?.name).toBe('evidence.bin');
        // The run's results list the lost evidence with why.
        expect([id, artifact?.state]).toEqual([id, 'lost']);
        expect(artifact?.reason).toMatch(/its artifact spool was full/);
        const { status, body } = await lab.download(artifact!.url);
        expect([id, status]).toEqual([id, 410]);
        expect(JSON.parse(body.toString()).error).toMatch(
          /"evidence\.bin" of attempt 1 was lost: dropped by the agent: its artifact spool was full/,
        );
      }
      expect(filesUnder(lab.artifactsDir)).toHaveLength(3);
    },
    180_000,
  );

  it('the control plane stores an artifact once: a re-sent upload or a loss notice changes nothing stored', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'devlab-artifact-store-'));
    const store = Store.open(path.join(home, 'devlab.db'));
    try {
      const artifacts = new ArtifactStore(home, store.artifacts, { logger: pino({ level: 'silent' }) });
      const meta = {
        id: 'a1b2c3d4e5f6a7b8c9d0',
        runId: 'run-1',
        jobId: 'job-1',
        attempt: 1,
        name: 'shot.png',
        contentType: 'image/png',
      };
      const first = await artifacts.save(meta, Buffer.from('first'));
      expect(first.created).toBe(true);
      // The same upload again (its answer was lost), even with other bytes: one row, one file, the first.
      const again = await artifacts.save(meta, Buffer.from('second, longer'));
      expect(again).toMatchObject({ created: false, row: { size: 5, state: 'stored' } });
      expect(artifacts.read(again.row).toString()).toBe('first');
      // A loss notice of a stored artifact does not unstore it.
      expect(artifacts.recordLost(meta, 'spool full').row.state).toBe('stored');
      expect(filesUnder(path.join(home, 'artifacts'))).toEqual([`run-1/job-1/1/${meta.id}-shot.png`]);

      // A control plane that died between the file and its row: the retried upload keeps that file.
      const orphan = { ...meta, id: 'ffeeddccbbaa99887766', name: 'log.txt' };
      const orphanFile = path.join(home, 'artifacts', 'run-1', 'job-1', '1', `${orphan.id}-log.txt`);
      writeFileSync(orphanFile, 'complete');
      const adopted = await artifacts.save(orphan, Buffer.from('complete'));
      expect(adopted.row).toMatchObject({ size: 8, state: 'stored' });
      expect(store.artifacts.listByJob('job-1')).toHaveLength(2);
      expect(filesUnder(path.join(home, 'artifacts'))).toHaveLength(2);

      // A loss is recorded with its reason and served as 410 Gone with it.
      const lostMeta = { ...meta, id: '00112233445566778899', name: 'video.mp4' };
      const lost = artifacts.recordLost(lostMeta, 'dropped by the agent: its artifact spool was full');
      expect(lost.row).toMatchObject({
        state: 'lost',
        size: 0,
        reason: 'dropped by the agent: its artifact spool was full',
      });
      expect(() => artifacts.read(lost.row)).toThrow(
        /"video.mp4" of attempt 1 was lost: dropped by the agent/,
      );
      // It arrives after all (a retried upload won the race): stored, the loss forgotten.
      const late = await artifacts.save(lostMeta, Buffer.from('late'));
      expect(late.row).toMatchObject({ state: 'stored', reason: null, size: 4 });
    } finally {
      store.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
