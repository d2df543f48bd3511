import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanPreview } from '../../harness/api/schemas.ts';
import { loadConfig } from '../../harness/config/config.ts';
import { ALL_PARTNERS } from '../../harness/protocol/all-partners.ts';
import {
  type ControlPlaneService,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import type { Plan } from '../../harness/planner/planner.ts';
import { storePath } from '../../harness/store/database.ts';
import { Store } from '../../harness/store/store.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { call } from '../api/authed-api.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { seedFinishedRun } from '../support/seed-history.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';

const DAY = 24 * 3600_000;

/** Reference catalog tests and inventory devices (both devices run every navigation test). */
const X = 'app.navigation.initial-focus';
const Y = 'app.navigation.right-moves-focus';
const Z = 'app.navigation.row-end-stops';
const W = 'app.navigation.back-returns-home';
const TV = { device: 'tv-4k-hdr', model: 'AUR-65X9' };
const STICK = { device: 'stick-1080p', model: 'STK-HD1' };
const SELECT = `id:${TV.device} or id:${STICK.device}`;

/** A reason that reports results (failures, flips, failure rates): what must stay within a partner. */
const CITES_RESULTS = /fail|flak|flip/i;

/**
 * Issue #16, item 2: the history fields of a query and the risk reasons a partner reads come from its own
 * results only; the whole lab's are for admins. The real control plane on a real SQLite store file,
 * history replayed from it at start, asked over its HTTP API with partner bearer tokens.
 *
 * acme ran X (failed on the TV), Y and Z (passed); then globex ran Y, Z (failed on the TV) and W (failed
 * on the stick). Lab-wide, X, Y, Z and W all failed in their last run.
 */
describe('history does not leak across partners', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-partner-history-'));
  const prefix = `devlab-partner-history-${process.pid}`;
  let server: ControlPlaneService;
  const token: Record<'acme' | 'globex' | 'initech' | 'admin', string> = {
    acme: '',
    globex: '',
    initech: '',
    admin: '',
  };

  beforeAll(async () => {
    if (!up) return;
    const config = loadConfig({
      env: { ...process.env, DEVLAB_HOME: home, DEVLAB_REDIS_URL: REDIS_URL, DEVLAB_REDIS_PREFIX: prefix },
    });
    // The history is in the store before the control plane starts: it replays it from the file.
    const seed = Store.open(storePath(config.home));
    const now = Date.now();
    seedFinishedRun(seed, {
      at: now - 2 * DAY,
      partner: 'acme',
      jobs: [
        { test: X, ...TV, verdict: 'failed' },
        { test: Y, ...TV, verdict: 'passed' },
        { test: Z, ...TV, verdict: 'passed' },
      ],
    });
    seedFinishedRun(seed, {
      at: now - DAY,
      partner: 'globex',
      jobs: [
        { test: Y, ...TV, verdict: 'failed' },
        { test: Z, ...TV, verdict: 'timed-out' },
        { test: W, ...STICK, verdict: 'failed' },
      ],
    });
    seed.close();
    server = await startControlPlaneService(config, { port: 0, auth: true, agentToken: 'agent-secret' });
    const tokens = new TokensRepo(server.store.db);
    token.acme = tokens.create('acme').token;
    token.globex = tokens.create('globex').token;
    token.initech = tokens.create('initech').token;
    token.admin = tokens.create('ops', 'admin').token;
  });
  afterAll(async () => {
    await server?.close();
    await removeTestLab(prefix, home, up);
  });

  const preview = async (who: keyof typeof token, query: string): Promise<PlanPreview> => {
    const res = await call(`${server.url}/api/runs/preview`, token[who], {
      method: 'POST',
      body: { query, select: SELECT },
    });
    // A query that selects nothing for this partner is answered as such (422), not with an empty plan.
    if (res.status === 422) {
      expect(((await res.json()) as { error: string }).error).toBe(`no test matched the query '${query}'`);
      return { ranker: '', jobs: [], unplanned: [], budget: null, confidence: null };
    }
    expect(res.status).toBe(200);
    return (await res.json()) as PlanPreview;
  };
  /** Every test a plan names: planned, or matched but with no eligible device. */
  const testsOf = (plan: Pick<PlanPreview | Plan, 'jobs' | 'unplanned'>): string[] =>
    [...new Set([...plan.jobs.map((j) => j.testId), ...plan.unplanned.map((u) => u.testId)])].sort();
  const reasonsOf = (plan: Pick<PlanPreview | Plan, 'jobs'>, testId: string): string[] =>
    plan.jobs.filter((j) => j.testId === testId).flatMap((j) => j.reasons);

  it.skipIf(!up)("a partner's history fields match its own results only", async () => {
    expect(testsOf(await preview('acme', 'failed_in_last:1'))).toEqual([X]);
    expect(testsOf(await preview('acme', 'failrate > 0'))).toEqual([X]);
    expect(testsOf(await preview('acme', 'last_verdict:failed'))).toEqual([X]);
    expect(testsOf(await preview('acme', `failrate[device=${TV.device}] > 0`))).toEqual([X]);
    // globex sees its own failures and nothing of acme's.
    expect(testsOf(await preview('globex', 'failed_in_last:1'))).toEqual([W, Z, Y].sort());
    expect(testsOf(await preview('globex', 'last_verdict:passed'))).toEqual([]);
    // A partner with no history of its own matches nothing, whatever the lab ran.
    expect(testsOf(await preview('initech', 'failed_in_last:50'))).toEqual([]);
    expect(testsOf(await preview('initech', 'failrate >= 0'))).toEqual([]);
  });

  it.skipIf(!up)('the reasons a partner reads cite its own results and nothing of the others', async () => {
    const acme = await preview('acme', 'tag:navigation');
    expect(acme.jobs.length).toBeGreaterThanOrEqual(8);
    // Its own failure is explained...
    expect(reasonsOf(acme, X)).toContain('failed 1 of the last 1 runs on this device');
    // ...and no other test is said to have failed, flipped or be flaky: acme saw Y and Z pass.
    for (const job of acme.jobs.filter((j) => j.testId !== X))
      expect(
        job.reasons.filter((r) => CITES_RESULTS.test(r)),
        `${job.testId} on ${job.pool}`,
      ).toEqual([]);
    // Nor does acme learn that globex ran W: to acme it is a new test.
    expect(reasonsOf(acme, W)).toContain('new test');
    expect(reasonsOf(acme, Z)).not.toContain('new test');

    const globex = await preview('globex', 'tag:navigation');
    expect(reasonsOf(globex, Z)).toContain('failed 1 of the last 1 runs on this device');
    expect(reasonsOf(globex, W)).toContain('failed 1 of the last 1 runs on this device');
    for (const job of globex.jobs.filter((j) => ![Y, Z, W].includes(j.testId)))
      expect(
        job.reasons.filter((r) => CITES_RESULTS.test(r)),
        `${job.testId} on ${job.pool}`,
      ).toEqual([]);
    expect(reasonsOf(globex, X)).toContain('new test');

    const initech = await preview('initech', 'tag:navigation');
    for (const job of initech.jobs) {
      expect(job.reasons.filter((r) => CITES_RESULTS.test(r))).toEqual([]);
      expect(job.reasons).toContain('new test');
    }
  });

  it.skipIf(!up)("an admin's view of the lab reads every partner's results", async () => {
    // Through the API with an admin token, and through the control plane with the lab-wide view.
    expect(testsOf(await preview('admin', 'failed_in_last:1'))).toEqual([W, X, Y, Z].sort());
    expect(reasonsOf(await preview('admin', 'tag:navigation'), Z)).toContain(
      'failed 1 of the last 2 runs on this device',
    );
    const all = { historyPartner: ALL_PARTNERS };
    const failing = await server.controlPlane.preview({ query: 'failed_in_last:1', select: SELECT }, all);
    expect(testsOf(failing)).toEqual([W, X, Y, Z].sort());
    const plan = await server.controlPlane.preview({ query: 'tag:navigation', select: SELECT }, all);
    // Z passed for acme, then timed out for globex on the TV.
    expect(reasonsOf(plan, Z)).toContain('failed 1 of the last 2 runs on this device');
    expect(reasonsOf(plan, X)).toContain('failed 1 of the last 1 runs on this device');
    expect(reasonsOf(plan, W)).not.toContain('new test');
  });

  it.skipIf(!up)(
    "a submitted run reads its own partner's history, whoever submits it (its owner reads it)",
    async () => {
      const submit = async (who: keyof typeof token, body: Record<string, unknown>) => {
        const res = await call(`${server.url}/api/runs`, token[who], {
          method: 'POST',
          body: { select: SELECT, ...body },
        });
        expect(res.status).toBe(201);
        const run = (await res.json()) as { id: string } & Pick<PlanPreview, 'jobs' | 'unplanned'>;
        await server.controlPlane.cancel(run.id);
        return run;
      };
      const own = await submit('acme', { query: 'failed_in_last:1' });
      expect(testsOf(own)).toEqual([X]);
      const forAcme = await submit('admin', { query: 'failed_in_last:1', partner: 'acme' });
      expect(testsOf(forAcme)).toEqual([X]);
      const nav = await submit('admin', { query: 'tag:navigation', partner: 'acme' });
      for (const job of nav.jobs.filter((j) => j.testId !== X))
        expect(job.reasons.filter((r) => CITES_RESULTS.test(r))).toEqual([]);
    },
  );
});
