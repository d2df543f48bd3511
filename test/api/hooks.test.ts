import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import type { HookPayload } from '../../harness/hooks/payload.ts';
import { verifySignature } from '../../harness/hooks/signature.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { call, type PartnerTokens, partnerTokens } from './authed-api.ts';
import { finishRun, hooksCli, hooksEnv, type Receiver, startReceiver, until } from '../support/hooks-lab.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

/**
 * Signed webhooks on the real control plane (reference catalog and inventory, SQLite, Redis, the HTTP API
 * with tokens): runs are finished by reports on the lab's report stream, as agents send them; deliveries go
 * to real loopback HTTP receivers.
 */
describe('signed outbound webhooks (devlab hooks, /api/hooks)', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-hooks-'));
  const prefix = `devlab-hooks-${process.pid}`;
  const env = hooksEnv(home, prefix);
  let config: DevlabConfig;
  let server: ControlPlaneService;
  /** The control plane is stopped (the restart test, between its stop and its start). */
  let stopped = false;
  let tokens: PartnerTokens;
  /** Paths whose receiver answers 200 from now on (`/restart` answers 503 until then). */
  const healed = new Set<string>();
  let receiver: Receiver;
  let elsewhere: Receiver;
  const redis = redisConnection(REDIS_URL);

  const start = () => startControlPlaneService(config, { port: 0, agentToken: 'agent-secret-hooks' });
  const api = (token: string, p: string, init: { method?: string; body?: unknown } = {}) =>
    call(`${server.url}${p}`, token, init);
  const addHook = async (token: string, body: Record<string, unknown>) => {
    const res = await api(token, '/api/hooks', { method: 'POST', body });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; secret: string; partner: string | null };
  };
  const cli = (token: string, ...args: string[]) => hooksCli(server.url, env, token, args);

  /** Submits a run as `token`'s partner and finishes it like an agent would: the first job fails, the rest pass. */
  const finishedRun = (token: string, build: string): Promise<string> =>
    finishRun({ server, redis, prefix }, token, build, {
      agent: 'hooks-test',
      device: 'hook-device',
      fails: (seq) => seq === 0,
      message: 'expected "playing" but was "buffering"',
    });
  const deliveryIds = (p: string) => receiver.got(p).map((r) => r.headers['x-devlab-delivery']);
  const payloads = (p: string) => receiver.got(p).map((r) => JSON.parse(r.body) as HookPayload);

  beforeAll(async () => {
    if (!up) return;
    receiver = await startReceiver((p, seen) => {
      if (p === '/retry') return { status: seen <= 3 ? 500 : 200 };
      if (p === '/restart') return { status: healed.has(p) ? 200 : 503 };
      if (p === '/redirect') return { status: 302, headers: { location: `${elsewhere.url}/stolen` } };
      return { status: 200 };
    });
    elsewhere = await startReceiver(() => ({ status: 200 }));
    config = loadConfig({ env: { ...process.env, ...env } });
    server = await start();
    tokens = partnerTokens(new TokensRepo(server.store.db));
  }, 60_000);
  afterAll(async () => {
    if (!stopped) await server?.close();
    await receiver?.close();
    await elsewhere?.close();
    redis.disconnect();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'a finished run delivers one signed event per subscription, only to its partner\u2019s hooks and the admins\u2019',
    async () => {
      const runs = await addHook(tokens.acme, { url: `${receiver.url}/acme-runs`, events: ['run.finished'] });
      const failures = await addHook(tokens.acme, {
        url: `${receiver.url}/acme-failures`,
        events: ['run.failed', 'job.failed'],
      });
      const globex = await addHook(tokens.globex, {
        url: `${receiver.url}/globex`,
        events: ['run.finished'],
      });
      const admin = await addHook(tokens.admin, { url: `${receiver.url}/admin`, events: ['run.finished'] });
      expect(runs.secret).toMatch(/^dlh_/);
      expect(admin.partner).toBeNull();

      const runId = await finishedRun(tokens.acme, 'b-hooks-1');
      await until(
        'acme, its failures and the admin hook',
        () =>
          ['/acme-runs', '/admin'].every((p) => receiver.got(p).length === 1) &&
          receiver.got('/acme-failures').length === 2,
      );
      await new Promise((r) => setTimeout(r, 300)); // nothing more comes
      expect(receiver.got('/acme-runs')).toHaveLength(1);
      expect(receiver.got('/admin')).toHaveLength(1);
      expect(receiver.got('/globex')).toHaveLength(0);

      // Every body verifies with its own hook's secret, computed here from the raw bytes.
      for (const [p, secret] of [
        ['/acme-runs', runs.secret],
        ['/acme-failures', failures.secret],
        ['/admin', admin.secret],
      ] as const) {
        for (const r of receiver.got(p)) {
          const hex = createHmac('sha256', secret).update(r.body).digest('hex');
          expect(r.headers['x-devlab-signature-256']).toBe(`sha256=${hex}`);
          expect(verifySignature(secret, r.body, r.headers['x-devlab-signature-256'] as string)).toBe(true);
          expect(verifySignature(globex.secret, r.body, r.headers['x-devlab-signature-256'] as string)).toBe(
            false,
          );
          expect(r.headers['x-devlab-delivery']).toMatch(/^[0-9a-f-]{36}$/);
          expect(r.headers['content-type']).toBe('application/json');
        }
      }
      // The receiver example in docs/ci verifies a real delivery, and refuses it with another secret.
      const example = (await import(path.join(PROJECT_ROOT, 'docs/ci/webhook-receiver.mjs'))) as {
        verifyDelivery(secret: string, raw: Buffer, signature: unknown): boolean;
      };
      const sample = receiver.got('/acme-runs')[0]!;
      const raw = Buffer.from(sample.body);
      expect(example.verifyDelivery(runs.secret, raw, sample.headers['x-devlab-signature-256'])).toBe(true);
      expect(example.verifyDelivery(admin.secret, raw, sample.headers['x-devlab-signature-256'])).toBe(false);
      const [finished] = payloads('/acme-runs');
      expect(receiver.got('/acme-runs')[0]!.headers['x-devlab-event']).toBe('run.finished');
      const run = server.store.runs.get(runId)!;
      expect(finished!.event).toBe('run.finished');
      expect(finished!.run).toMatchObject({
        id: runId,
        partner: 'acme',
        build: 'b-hooks-1',
        status: 'failed',
      });
      const jobs = server.store.jobs.listByRun(runId);
      expect(finished!.run.counts).toEqual(server.store.jobs.verdictCounts(runId));
      expect(finished!.run.counts.failed).toBe(1);
      expect(finished!.run.failingTotal).toBe(1);
      const failed = jobs.find((j) => j.seq === 0)!;
      expect(finished!.run.failing).toEqual([
        expect.objectContaining({
          testId: failed.testId,
          deviceId: 'hook-device-0',
          verdict: 'failed',
          message: 'expected "playing" but was "buffering"',
          signature: failed.signature,
        }),
      ]);
      expect(finished!.run.links).toEqual({
        run: `${server.url}/api/runs/${runId}`,
        results: `${server.url}/api/runs/${runId}/results`,
        junit: `${server.url}/api/runs/${runId}/junit`,
      });
      expect(run.status).toBe('failed');
      const junit = await api(tokens.acme, new URL(finished!.run.links.junit).pathname);
      expect(junit.status).toBe(200);
      expect(
        payloads('/acme-failures')
          .map((b) => b.event)
          .sort(),
      ).toEqual(['job.failed', 'run.failed']);
      expect(payloads('/acme-failures').find((b) => b.event === 'job.failed')!.job).toMatchObject({
        jobId: failed.id,
        testId: failed.testId,
      });

      // A globex run reaches globex and the admin, never acme.
      await finishedRun(tokens.globex, 'b-globex-1');
      await until(
        'globex and admin',
        () => receiver.got('/globex').length === 1 && receiver.got('/admin').length === 2,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(receiver.got('/acme-runs')).toHaveLength(1);
      expect(receiver.got('/acme-failures')).toHaveLength(2);
      expect(payloads('/globex')[0]!.run.partner).toBe('globex');

      // The delivery log, through the API and the CLI; another partner's hook is a 404.
      const log = (await (await api(tokens.acme, `/api/hooks/${runs.id}/deliveries`)).json()) as {
        id: string;
        state: string;
        log: { attempt: number; statusCode: number | null; durationMs: number }[];
      }[];
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ id: deliveryIds('/acme-runs')[0], state: 'delivered' });
      expect(log[0]!.log).toEqual([
        expect.objectContaining({ attempt: 1, statusCode: 200, error: null, manual: false }),
      ]);
      expect((await api(tokens.globex, `/api/hooks/${runs.id}/deliveries`)).status).toBe(404);
      expect((await api(tokens.globex, `/api/hooks/deliveries/${log[0]!.id}`)).status).toBe(404);
      expect((await api(tokens.admin, `/api/hooks/${runs.id}/deliveries`)).status).toBe(200);

      // The secret is shown once: never in a listing (API or CLI) or a delivery view.
      const listed = await (await api(tokens.admin, '/api/hooks')).text();
      expect(listed).toContain(runs.id);
      expect(listed).not.toContain(runs.secret);
      const acmeList = (await (await api(tokens.acme, '/api/hooks')).json()) as { id: string }[];
      expect(acmeList.map((h) => h.id).sort()).toEqual([runs.id, failures.id].sort());
      const cliList = await cli(tokens.acme, 'list');
      expect(cliList.status).toBe(0);
      expect(cliList.stdout).toContain(runs.id);
      expect(cliList.stdout).not.toContain(globex.id);
      expect(cliList.stdout).not.toContain(runs.secret);
      const cliLog = await cli(tokens.acme, 'deliveries', runs.id);
      expect(cliLog.status).toBe(0);
      expect(cliLog.stdout).toContain(`${log[0]!.id} run.finished run ${runId} delivered`);
      expect(cliLog.stdout).toMatch(/#1 \S+ 200 \d+ ms/);

      // Redelivery by hand: the same body and delivery id again, logged as a manual attempt.
      const again = await cli(tokens.acme, 'redeliver', log[0]!.id);
      expect(again.status, again.stderr).toBe(0);
      await until('the redelivery', () => receiver.got('/acme-runs').length === 2);
      const [first, second] = receiver.got('/acme-runs');
      expect(second!.headers['x-devlab-delivery']).toBe(first!.headers['x-devlab-delivery']);
      expect(second!.body).toBe(first!.body);
      await until('the manual attempt logged', () => server.hooks.repo.attempts(log[0]!.id).length === 2);
      expect(server.hooks.repo.attempts(log[0]!.id)[1]).toMatchObject({
        attempt: 2,
        statusCode: 200,
        manual: true,
      });

      // Removed hooks get nothing more.
      for (const [token, id] of [
        [tokens.acme, runs.id],
        [tokens.acme, failures.id],
        [tokens.globex, globex.id],
        [tokens.admin, admin.id],
      ] as const)
        expect((await api(token, `/api/hooks/${id}`, { method: 'DELETE' })).status).toBe(200);
      expect((await api(tokens.globex, `/api/hooks/${runs.id}`, { method: 'DELETE' })).status).toBe(404);
    },
    90_000,
  );

  it.skipIf(!up)(
    'a receiver answering 500 three times then 200 gets the event again with the same delivery id',
    async () => {
      const hook = await addHook(tokens.acme, { url: `${receiver.url}/retry`, events: ['run.finished'] });
      await finishedRun(tokens.acme, 'b-retry');
      await until('four attempts', () => receiver.got('/retry').length === 4);
      const ids = deliveryIds('/retry');
      expect(new Set(ids).size).toBe(1);
      expect(receiver.got('/retry').map((r) => r.headers['x-devlab-attempt'])).toEqual(['1', '2', '3', '4']);
      // The same bytes, so the same signature, on every attempt.
      expect(new Set(receiver.got('/retry').map((r) => r.body)).size).toBe(1);
      await until('the log', () => server.hooks.repo.delivery(ids[0] as string)?.state === 'delivered');
      const [delivery] = (await (await api(tokens.acme, `/api/hooks/${hook.id}/deliveries`)).json()) as {
        state: string;
        attempts: number;
        log: { statusCode: number; error: string | null }[];
      }[];
      expect(delivery).toMatchObject({ state: 'delivered', attempts: 4 });
      expect(delivery!.log.map((a) => [a.statusCode, a.error])).toEqual([
        [500, 'HTTP 500'],
        [500, 'HTTP 500'],
        [500, 'HTTP 500'],
        [200, null],
      ]);
      await api(tokens.acme, `/api/hooks/${hook.id}`, { method: 'DELETE' });
    },
    60_000,
  );

  it.skipIf(!up)(
    'a redirect is never followed, and is not retried',
    async () => {
      const hook = await addHook(tokens.acme, { url: `${receiver.url}/redirect`, events: ['run.finished'] });
      await finishedRun(tokens.acme, 'b-redirect');
      await until('the attempt', () => receiver.got('/redirect').length === 1);
      const id = deliveryIds('/redirect')[0] as string;
      await until('the delivery to fail', () => server.hooks.repo.delivery(id)?.state === 'failed');
      await new Promise((r) => setTimeout(r, 1000));
      expect(receiver.got('/redirect')).toHaveLength(1);
      expect(elsewhere.got('/stolen')).toHaveLength(0);
      expect(server.hooks.repo.attempts(id)[0]!.error).toMatch(/^HTTP 302: redirect to .* not followed/);
      await api(tokens.acme, `/api/hooks/${hook.id}`, { method: 'DELETE' });
    },
    60_000,
  );

  it.skipIf(!up)(
    'a control plane stopped mid-retry delivers after its restart, with the same delivery id',
    async () => {
      await addHook(tokens.acme, { url: `${receiver.url}/restart`, events: ['run.finished'] });
      const runId = await finishedRun(tokens.acme, 'b-restart');
      await until('a failed first attempt', () => receiver.got('/restart').length >= 1);
      await server.close();
      stopped = true;
      const before = receiver.got('/restart').length;
      const id = deliveryIds('/restart')[0] as string;
      // Its retry waits in the lab's Redis while no control plane runs.
      const delayed = await redis.zscore(`${prefix}:hooks:delayed`, id);
      const waiting = await redis.lrange(`${prefix}:hooks:wait`, 0, -1);
      expect(delayed !== null || waiting.includes(id)).toBe(true);
      healed.add('/restart');
      // Nothing is sent while no control plane runs.
      await new Promise((r) => setTimeout(r, 1200));
      expect(receiver.got('/restart')).toHaveLength(before);

      server = await start();
      stopped = false;
      await until('the delivery after the restart', () => receiver.got('/restart').length === before + 1);
      expect(deliveryIds('/restart').every((d) => d === id)).toBe(true);
      expect(payloads('/restart').at(-1)!.run.id).toBe(runId);
      await until('the log', () => server.hooks.repo.delivery(id)?.state === 'delivered');
      const log = server.hooks.repo.attempts(id);
      expect(log.at(-1)).toMatchObject({ statusCode: 200, error: null });
      expect(log.slice(0, -1).every((a) => a.statusCode === 503 || a.error?.startsWith('aborted'))).toBe(
        true,
      );
    },
    60_000,
  );

  it.skipIf(!up)(
    'refuses a target outside the allow-list at `hooks add`, in the API and the CLI',
    async () => {
      for (const url of [
        'https://example.com/devlab',
        'http://10.0.0.8/hook',
        'http://169.254.169.254/latest',
      ]) {
        const res = await api(tokens.acme, '/api/hooks', {
          method: 'POST',
          body: { url, events: ['run.finished'] },
        });
        expect(res.status).toBe(400);
        const body = (await res.json()) as { error: string; field: string };
        expect(body.field).toBe('url');
        expect(body.error).toContain("is not on this lab's hook allow-list");
      }
      const bad = await api(tokens.acme, '/api/hooks', {
        method: 'POST',
        body: { url: `${receiver.url}/x`, events: ['run.exploded'] },
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { field: string }).field).toMatch(/^events/);
      const userinfo = await api(tokens.acme, '/api/hooks', {
        method: 'POST',
        body: { url: 'http://user:pw@127.0.0.1:9/x', events: ['run.finished'] },
      });
      expect(userinfo.status).toBe(400);

      const out = await cli(
        tokens.acme,
        'add',
        '--url',
        'https://example.com/devlab',
        '--events',
        'run.finished,run.failed',
      );
      expect(out.status).toBe(2);
      expect(out.stderr).toContain("url: host example.com is not on this lab's hook allow-list");
      expect(out.stdout).toBe('');
      expect(server.hooks.repo.list().filter((h) => !h.url.startsWith(receiver.url))).toEqual([]);

      // The routes are in the generated OpenAPI document.
      const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/hooks',
          '/api/hooks/{id}/deliveries',
          '/api/hooks/deliveries/{deliveryId}/redeliver',
        ]),
      );

      // Inside the allow-list, the CLI prints the hook and its secret once.
      const ok = await cli(tokens.acme, 'add', '--url', `${receiver.url}/cli`, '--events', 'job.failed');
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(
        /^hook-[0-9a-f]+ acme job\.failed http:\/\/127\.0\.0\.1:\d+\/cli\nsecret .*\ndlh_\S+\n$/,
      );
    },
    60_000,
  );

  it.skipIf(!up)(
    "a partner's hook query reads that partner's history: another partner's failures do not select its events",
    async () => {
      const initech = new TokensRepo(server.store.db).create('initech').token;
      const own = await addHook(initech, {
        url: `${receiver.url}/initech-flaky`,
        events: ['run.finished'],
        query: 'failrate > 0',
      });
      const lab = await addHook(tokens.admin, {
        url: `${receiver.url}/admin-flaky`,
        events: ['run.finished'],
        query: 'failrate > 0',
      });
      // globex's run fails its first test; initech then runs the same tests and they all pass.
      await finishedRun(tokens.globex, 'b-scope-globex');
      const runId = await finishRun({ server, redis, prefix }, initech, 'b-scope-initech', {
        agent: 'hooks-test',
        device: 'hook-device',
        fails: () => false,
        message: '',
      });
      // The admin's hook reads the whole lab: globex's failure selects initech's run for it.
      await until('the admin hook', () => payloads('/admin-flaky').some((p) => p.run.id === runId));
      await new Promise((r) => setTimeout(r, 300));
      // initech's own history has no failure: nothing of globex's results reaches it through its hook.
      expect(receiver.got('/initech-flaky')).toEqual([]);
      const log = (await (await api(initech, `/api/hooks/${own.id}/deliveries`)).json()) as unknown[];
      expect(log).toEqual([]);
      expect(lab.id).not.toBe(own.id);
    },
    60_000,
  );
});
