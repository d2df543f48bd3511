import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';
import { commitSha, resolveTarget } from '../../harness/hooks/targets.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { finishRun, hooksCli, hooksEnv, type Receiver, startReceiver, until } from '../support/hooks-lab.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { call } from './authed-api.ts';

// --- The receivers' contracts, written from their public documentation (not from devlab's output) ---

/**
 * A Spinnaker artifact (kork `Artifact`, https://spinnaker.io/docs/reference/artifacts/): a typed
 * reference to an external resource; `type` is required, the rest optional strings.
 */
const spinnakerArtifact = z
  .object({
    type: z.string().min(1),
    customKind: z.boolean().optional(),
    name: z.string().optional(),
    version: z.string().optional(),
    location: z.string().optional(),
    reference: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    artifactAccount: z.string().optional(),
    provenance: z.string().optional(),
    uuid: z.string().optional(),
  })
  .strict();

/**
 * What Gate's `POST /webhooks/webhook/{source}` takes (https://spinnaker.io/docs/guides/user/pipeline/triggers/webhooks/):
 * any JSON object; Echo reads `parameters` (a map of the pipeline's parameters, whose values a pipeline
 * reads as strings) and `artifacts` (a list of artifacts) from it, and a trigger's payload constraints are
 * matched against its top-level keys.
 */
const gateWebhookPayload = z
  .object({
    parameters: z.record(z.string(), z.string()).optional(),
    artifacts: z.array(spinnakerArtifact).optional(),
  })
  .catchall(z.unknown());

/**
 * Payload constraints as the docs define them: "key/value pairs where the key must be found in the
 * incoming payload, and the value must match using regex" (a regex search over the value as a string).
 */
function constraintsMatch(constraints: Record<string, string>, payload: Record<string, unknown>): boolean {
  return Object.entries(constraints).every(([key, regex]) => {
    const value = payload[key];
    return value !== undefined && value !== null && new RegExp(regex).test(String(value));
  });
}

/**
 * `POST /repos/{owner}/{repo}/statuses/{sha}` (https://docs.github.com/en/rest/commits/statuses): `state`
 * is required and one of error, failure, pending, success; `target_url`, `description` (GitHub keeps a
 * short one: at most 140 characters) and `context` are optional strings.
 */
const githubStatusBody = z
  .object({
    state: z.enum(['error', 'failure', 'pending', 'success']),
    target_url: z.url().nullable().optional(),
    description: z.string().max(140).nullable().optional(),
    context: z.string().min(1).optional(),
  })
  .strict();

/** A JSON answer, as Gate and GitHub's API give. */
const jsonAnswer = (status: number, body = '{}') => ({
  status,
  headers: { 'content-type': 'application/json' },
  body,
});

const GITHUB_TOKEN = 'ghp_test_TOKEN_never_to_be_seen_0123456789';
const SHA_PASS = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
const SHA_FAIL = 'b'.repeat(8) + '0123456789abcdef0123456789abcdef';
const SHA_UNKNOWN = 'c'.repeat(8) + '0123456789abcdef0123456789abcdef';

describe('hook targets: a Spinnaker webhook trigger and GitHub commit statuses', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-hook-targets-'));
  const prefix = `devlab-hook-targets-${process.pid}`;
  let gate: Receiver;
  let github: Receiver;
  let env: Record<string, string>;
  let config: DevlabConfig;
  let server: ControlPlaneService;
  let tokens: { acme: string; admin: string };
  const redis = redisConnection(REDIS_URL);

  const api = (token: string, p: string, init: { method?: string; body?: unknown } = {}) =>
    call(`${server.url}${p}`, token, init);
  const addHook = async (token: string, body: Record<string, unknown>) => {
    const res = await api(token, '/api/hooks', { method: 'POST', body });
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as { id: string; url: string; secret: string };
  };
  const refused = async (body: Record<string, unknown>) => {
    const res = await api(tokens.acme, '/api/hooks', { method: 'POST', body });
    expect(res.status).toBe(400);
    return (await res.json()) as { error: string; field: string };
  };
  const cli = (token: string, ...args: string[]) => hooksCli(server.url, env, token, args);

  /** Submits a run and finishes it like an agent would: every job passes, or the first one fails. */
  const finishedRun = (
    token: string,
    build: string,
    outcome: 'pass' | 'fail',
    beforeReports?: () => Promise<void>,
  ): Promise<string> =>
    finishRun({ server, redis, prefix }, token, build, {
      agent: 'hook-targets-test',
      device: 'target-device',
      fails: (seq) => outcome === 'fail' && seq === 0,
      message: 'stalled after seek',
      beforeReports,
    });

  beforeAll(async () => {
    if (!up) return;
    gate = await startReceiver(() => jsonAnswer(200, '{"eventProcessed":true,"eventId":"e-1"}'));
    github = await startReceiver((p) =>
      p.endsWith(SHA_UNKNOWN)
        ? jsonAnswer(422, `{"message":"No commit found for SHA: ${SHA_UNKNOWN}"}`)
        : jsonAnswer(201, '{"id":1}'),
    );
    env = {
      ...hooksEnv(home, prefix),
      // GitHub Enterprise Server's shape of API base: a path prefix.
      DEVLAB_GITHUB_API_URL: `${github.url}/api/v3`,
      DEVLAB_GITHUB_TOKEN: GITHUB_TOKEN,
      // acme's repositories: o/r, and every one of acme-org's.
      DEVLAB_HOOKS_GITHUB_REPOS: 'acme:o/r,acme:acme-org/*',
    };
    config = loadConfig({ env: { ...process.env, ...env } });
    server = await startControlPlaneService(config, { port: 0, agentToken: 'agent-secret-targets' });
    const repo = new TokensRepo(server.store.db);
    tokens = { acme: repo.create('acme').token, admin: repo.create('ops', 'admin').token };
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await gate?.close();
    await github?.close();
    redis.disconnect();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'a passing run triggers the Spinnaker pipeline with Gate\u2019s webhook payload; --only-passed keeps a failed run out',
    async () => {
      const promote = await addHook(tokens.acme, {
        target: 'spinnaker',
        url: `${gate.url}/`,
        spinnakerSource: 'devlab-cert',
        onlyPassed: true,
      });
      expect(promote.url).toBe(`${gate.url}/webhooks/webhook/devlab-cert`);
      const every = await addHook(tokens.acme, {
        target: 'spinnaker',
        url: gate.url,
        spinnakerSource: 'devlab-all',
      });
      const trigger = '/webhooks/webhook/devlab-cert';

      const build = 'player-4.2.0-rc1';
      const runId = await finishedRun(tokens.acme, build, 'pass');
      await until(
        'the trigger',
        () => gate.got(trigger).length === 1 && gate.got('/webhooks/webhook/devlab-all').length === 1,
      );
      const [sent] = gate.got(trigger);
      expect(sent!.method).toBe('POST');
      expect(sent!.headers['content-type']).toBe('application/json');
      const payload = gateWebhookPayload.parse(JSON.parse(sent!.body));
      // The pipeline's parameters and its received artifact.
      expect(payload.parameters).toMatchObject({ build, verdict: 'passed', runId, partner: 'acme' });
      const junitUrl = `${server.url}/api/runs/${runId}/junit`;
      expect(payload.artifacts).toEqual([
        expect.objectContaining({ type: 'http/file', name: 'junit', reference: junitUrl }),
      ]);
      const junit = await api(tokens.acme, new URL(payload.artifacts![0]!.reference!).pathname);
      expect(junit.status).toBe(200);
      expect(await junit.text()).toContain('<testsuite');
      // The pipeline example's trigger (docs/ci) accepts this payload: its constraints match top-level fields.
      const example = JSON.parse(
        readFileSync(path.join(PROJECT_ROOT, 'docs/ci/spinnaker-promotion-pipeline.json'), 'utf8'),
      ) as {
        triggers: { type: string; source: string; payloadConstraints: Record<string, string> }[];
        parameterConfig: { name: string }[];
      };
      const [docTrigger] = example.triggers;
      expect(docTrigger).toMatchObject({ type: 'webhook', source: 'devlab-cert' });
      expect(constraintsMatch(docTrigger!.payloadConstraints, payload)).toBe(true);
      for (const p of example.parameterConfig) expect(payload.parameters).toHaveProperty(p.name);

      // A failed run: the --only-passed hook sends nothing; the other one's payload fails the constraint.
      await finishedRun(tokens.acme, 'player-4.2.0-rc2', 'fail');
      await until('the unfiltered trigger', () => gate.got('/webhooks/webhook/devlab-all').length === 2);
      await new Promise((r) => setTimeout(r, 700));
      expect(gate.got(trigger)).toHaveLength(1);
      const failed = gateWebhookPayload.parse(JSON.parse(gate.got('/webhooks/webhook/devlab-all')[1]!.body));
      expect(failed.parameters?.['verdict']).toBe('failed');
      expect(constraintsMatch(docTrigger!.payloadConstraints, failed)).toBe(false);
      expect(server.hooks.repo.deliveries(promote.id)).toHaveLength(1);

      // The CLI adds the same subscription and lists its target.
      const out = await cli(
        tokens.acme,
        'add',
        '--target',
        'spinnaker',
        '--url',
        gate.url,
        '--spinnaker-source',
        'devlab-cli',
        '--only-passed',
      );
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toMatch(
        /^hook-[0-9a-f]+ acme run\.finished http:\/\/127\.0\.0\.1:\d+\/webhooks\/webhook\/devlab-cli spinnaker source: devlab-cli only passed runs\n/,
      );
      for (const id of [promote.id, every.id, out.stdout.split(' ')[0]!])
        expect((await api(tokens.acme, `/api/hooks/${id}`, { method: 'DELETE' })).status).toBe(200);
    },
    90_000,
  );

  it.skipIf(!up)(
    'a GitHub target sets pending, then the verdict, on the run\u2019s commit with the lab\u2019s token, which is never shown',
    async () => {
      const hook = await addHook(tokens.acme, { target: 'github', githubRepo: 'o/r' });
      expect(hook.url).toBe(`${github.url}/api/v3/repos/o/r/statuses`);
      const statuses = (sha: string) => `/api/v3/repos/o/r/statuses/${sha}`;

      const failedRun = await finishedRun(tokens.acme, SHA_FAIL, 'fail', () =>
        until('pending', () => github.got(statuses(SHA_FAIL)).length === 1),
      );
      await until('the final status', () => github.got(statuses(SHA_FAIL)).length === 2);
      const passedRun = await finishedRun(tokens.acme, SHA_PASS.toUpperCase(), 'pass', () =>
        until('pending', () => github.got(statuses(SHA_PASS)).length === 1),
      );
      await until('the final status', () => github.got(statuses(SHA_PASS)).length === 2);

      const bodies = (sha: string) =>
        github.got(statuses(sha)).map((r) => githubStatusBody.parse(JSON.parse(r.body)));
      for (const r of [...github.got(statuses(SHA_FAIL)), ...github.got(statuses(SHA_PASS))]) {
        expect(r.method).toBe('POST');
        expect(r.headers['authorization']).toBe(`Bearer ${GITHUB_TOKEN}`);
        expect(r.headers['accept']).toBe('application/vnd.github+json');
        expect(r.headers['user-agent']).toBeTruthy();
      }
      expect(bodies(SHA_FAIL).map((b) => b.state)).toEqual(['pending', 'failure']);
      expect(bodies(SHA_PASS).map((b) => b.state)).toEqual(['pending', 'success']);
      const [, failure] = bodies(SHA_FAIL);
      expect(failure).toMatchObject({
        context: 'devlab',
        target_url: `${server.url}/#/runs/${encodeURIComponent(failedRun)}`,
      });
      expect(failure!.description).toContain('1 failed');
      expect(bodies(SHA_PASS)[1]!.target_url).toContain(encodeURIComponent(passedRun));

      // A build that is no commit is not sent (one logged attempt, no retries); GitHub's refusal is logged.
      await finishedRun(tokens.acme, 'player-4.2.0', 'pass');
      await finishedRun(tokens.acme, SHA_UNKNOWN, 'pass');
      await until(
        'the refusals logged',
        () => server.hooks.repo.deliveries(hook.id).filter((d) => d.state === 'failed').length >= 3,
      );
      await new Promise((r) => setTimeout(r, 700));
      const log = (await (await api(tokens.acme, `/api/hooks/${hook.id}/deliveries`)).json()) as {
        runId: string;
        event: string;
        state: string;
        log: { statusCode: number | null; error: string | null }[];
      }[];
      const errors = log.flatMap((d) => d.log.map((a) => a.error)).filter(Boolean);
      expect(errors).toContain(
        'not sent: build "player-4.2.0" is not a commit SHA (40 hex digits, or <version>@<sha>): a commit status needs the commit',
      );
      expect(errors).toContain(`HTTP 422: No commit found for SHA: ${SHA_UNKNOWN}`);
      expect(log.filter((d) => d.state === 'failed').every((d) => d.log.length === 1)).toBe(true);
      expect(github.all().filter((r) => r.body.includes('player-4.2.0'))).toEqual([]);

      // The token is in no answer, delivery, log entry or stored row.
      const answers = [
        await (await api(tokens.acme, '/api/hooks')).text(),
        await (await api(tokens.admin, '/api/hooks')).text(),
        await (await api(tokens.acme, `/api/hooks/${hook.id}`)).text(),
        JSON.stringify(log),
        (await cli(tokens.acme, 'list')).stdout,
        (await cli(tokens.acme, 'deliveries', hook.id)).stdout,
      ];
      const db = server.store.db;
      const rows = ['hooks', 'hook_deliveries', 'hook_attempts', 'events'].map((t) =>
        JSON.stringify(db.prepare(`SELECT * FROM ${t}`).all()),
      );
      for (const text of [...answers, ...rows]) expect(text).not.toContain(GITHUB_TOKEN);
      expect(answers[0]).toContain('"target":"github"');
      expect(answers[0]).toContain('"githubRepo":"o/r"');
      await api(tokens.acme, `/api/hooks/${hook.id}`, { method: 'DELETE' });
    },
    90_000,
  );

  it.skipIf(!up)('refuses a subscription whose target is incomplete or contradictory', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ target: 'spinnaker', url: gate.url }, 'spinnakerSource'],
      [{ target: 'spinnaker', url: gate.url, spinnakerSource: 'a b' }, 'spinnakerSource'],
      [{ target: 'spinnaker', url: `${gate.url}/webhooks/webhook/x`, spinnakerSource: 'x' }, 'url'],
      [{ target: 'spinnaker', url: 'https://gate.example.net', spinnakerSource: 'x' }, 'url'],
      [{ target: 'github', githubRepo: 'o/r', url: `${github.url}/steal` }, 'url'],
      [{ target: 'github', githubRepo: 'not a repo' }, 'githubRepo'],
      [{ target: 'github', githubRepo: 'o/r', events: ['job.failed'] }, 'events'],
      [{ target: 'github', githubRepo: 'o/r', onlyPassed: true, events: ['run.finished'] }, 'onlyPassed'],
      [{ url: `${gate.url}/x`, events: ['run.finished', 'run.failed'], onlyPassed: true }, 'onlyPassed'],
      [{ url: `${gate.url}/x`, events: ['run.finished'], githubRepo: 'o/r' }, 'githubRepo'],
      [{ events: ['run.finished'] }, 'url'],
      [{ url: `${gate.url}/x` }, 'events'],
    ];
    for (const [body, field] of cases) expect((await refused(body)).field, JSON.stringify(body)).toBe(field);
    expect(server.hooks.repo.list()).toEqual([]);
  });

  it.skipIf(!up)(
    'a partner\u2019s github hook may name only the repositories the config gives that partner',
    async () => {
      const before = server.hooks.repo.list().length;
      // Another partner's repository, in the API and the CLI: refused naming githubRepo and the config.
      const other = await refused({ target: 'github', githubRepo: 'globex/player' });
      expect(other).toEqual({
        error:
          "githubRepo: globex/player is not one of partner acme's repositories (hooks.githubRepos.acme / DEVLAB_HOOKS_GITHUB_REPOS: o/r, acme-org/*)",
        field: 'githubRepo',
      });
      const out = await cli(tokens.acme, 'add', '--target', 'github', '--github-repo', 'globex/player');
      expect(out.status).toBe(2);
      expect(out.stderr).toContain("githubRepo: globex/player is not one of partner acme's repositories");
      expect(out.stdout).toBe('');
      // A partner the config names no repository for may add none.
      const initech = new TokensRepo(server.store.db).create('initech').token;
      const none = await api(initech, '/api/hooks', {
        method: 'POST',
        body: { target: 'github', githubRepo: 'o/r' },
      });
      expect(none.status).toBe(400);
      expect(((await none.json()) as { error: string }).error).toContain(
        "not one of partner initech's repositories (hooks.githubRepos.initech / DEVLAB_HOOKS_GITHUB_REPOS: none)",
      );
      // An admin's hook for acme's runs is held to acme's repositories too.
      const forAcme = await api(tokens.admin, '/api/hooks', {
        method: 'POST',
        body: { target: 'github', githubRepo: 'globex/player', partner: 'acme' },
      });
      expect(forAcme.status).toBe(400);
      expect(((await forAcme.json()) as { field: string }).field).toBe('githubRepo');
      expect(server.hooks.repo.list()).toHaveLength(before);

      // Allowed: a named repository, any of an `owner/*` (owner compared as GitHub does, case aside),
      // and an admin's hook for every partner.
      const named = await addHook(tokens.acme, { target: 'github', githubRepo: 'o/r' });
      const owned = await addHook(tokens.acme, { target: 'github', githubRepo: 'Acme-Org/web' });
      const lab = await addHook(tokens.admin, { target: 'github', githubRepo: 'globex/player' });
      for (const [token, hook] of [
        [tokens.acme, named],
        [tokens.acme, owned],
        [tokens.admin, lab],
      ] as const)
        expect((await api(token, `/api/hooks/${hook.id}`, { method: 'DELETE' })).status).toBe(200);
    },
    60_000,
  );

  it('works out the commit and the GitHub API\u2019s place on the allow-list', () => {
    expect(commitSha(SHA_PASS)).toBe(SHA_PASS);
    expect(commitSha(`4.2.0@${SHA_PASS.toUpperCase()}`)).toBe(SHA_PASS);
    expect(commitSha(SHA_PASS.slice(1))).toBeNull();
    expect(commitSha(`x${SHA_PASS}`)).toBeNull();
    const settings = loadConfig({ env: {}, cwd: tmpdir() }).hooks;
    const github = { target: 'github' as const, githubRepo: 'o/r' };
    expect(() => resolveTarget(github, settings)).toThrow(/no GitHub token/);
    const withToken = { ...settings, githubToken: 't' };
    expect(() => resolveTarget(github, withToken)).toThrow(
      /GitHub's API \(https:\/\/api\.github\.com\) is not reachable by hooks: host api\.github\.com is not on/,
    );
    expect(resolveTarget(github, { ...withToken, allowHosts: ['api.github.com'] })).toEqual({
      target: 'github',
      url: 'https://api.github.com/repos/o/r/statuses',
      targetOptions: { repo: 'o/r', context: 'devlab' },
      events: ['run.started', 'run.finished'],
      onlyPassed: false,
    });
  });
});
