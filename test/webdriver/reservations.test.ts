import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { remote } from 'webdriverio';
import YAML from 'yaml';
import { loadInventory } from '../../devices/inventory/load.ts';
import { LeaseManager } from '../../devices/lease/lease-manager.ts';
import { DeviceLease } from '../../harness/agent/device-lease.ts';
import type { ReservationView } from '../../harness/api/reservation-view.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import { call, type PartnerTokens, partnerTokens } from '../api/authed-api.ts';
import { runCli } from '../support/leak-scan.ts';
import { type LabFiles, labFiles, type ServiceLab, startServiceLab } from '../support/service-lab.ts';
import { chromiumUp, REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { referenceTv, startTvParts, type TvParts } from './tv-parts.ts';

const TV = 'tv-4k-hdr';
/** A second emulated TV on the same Appium server, for a second reservation at once. */
const TV2 = 'tv-4k-hdr-2';
const TITLE = 'Devlab Reference Streaming';

interface DeviceView {
  id: string;
  leaseHolder?: string;
  reservation?: { partner: string; until: number };
}

/**
 * Device reservations on the real lab parts: the control plane (SQLite, Redis leases, the HTTP API with
 * partner tokens, the CLI as a process), a real Appium 3 server driving Debian's Chromium as the reference
 * lab's emulated TVs, the reference app on loopback, and plain WebdriverIO clients.
 */
describe('device reservations', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Chromium', chromiumUp));
  const redis = redisConnection(REDIS_URL);
  let files: LabFiles;
  let lab: ServiceLab;
  let leases: LeaseManager;
  let tv: TvParts;
  let tokens: PartnerTokens;

  const url = () => lab.server.url;
  const port = () => Number(new URL(url()).port);
  const reserve = (token: string, device: string, body: unknown) =>
    call(`${url()}/api/devices/${device}/reservations`, token, { method: 'POST', body });
  const reserved = async (token: string, device: string, duration: string, note?: string) => {
    const res = await reserve(token, device, { for: duration, ...(note ? { note } : {}) });
    expect(res.status).toBe(201);
    return (await res.json()) as ReservationView;
  };
  const listed = async (token: string) => {
    const res = await call(`${url()}/api/reservations`, token);
    expect(res.status).toBe(200);
    return (await res.json()) as ReservationView[];
  };
  const devices = async (token: string) => {
    const res = await call(`${url()}/api/devices`, token);
    expect(res.status).toBe(200);
    return (await res.json()) as DeviceView[];
  };
  /** A WebdriverIO session through a reservation's URL, the token as the URL's password. */
  const reservedClient = (r: ReservationView, user: string, token: string) =>
    remote({
      hostname: '127.0.0.1',
      port: port(),
      path: new URL(r.webdriverUrl).pathname,
      user,
      key: token,
      logLevel: 'silent',
      connectionRetryCount: 0,
      capabilities: { platformName: 'auroraos' } as WebdriverIO.Capabilities,
    });
  /** A session request of `token` at `base` (a W3C error body when refused). */
  const newSession = (base: string, token: string | null, alwaysMatch: Record<string, unknown>) =>
    call(`${base}/session`, token, { method: 'POST', body: { capabilities: { alwaysMatch } } });
  const cli = (token: string, args: string[]) =>
    runCli(['devices', ...args, ...(args[0] === 'list' ? [] : ['--server', url()])], {
      ...files.env,
      DEVLAB_TOKEN: token,
    });
  const start = async () => {
    lab = await startServiceLab(files, { agentToken: 'agent-reservations' });
    leases = new LeaseManager(redis, { keys: labKeys(files.prefix) });
  };

  beforeAll(async () => {
    if (!up) return;
    const dir = mkdtempSync(path.join(tmpdir(), 'devlab-reservations-'));
    tv = await startTvParts(dir);
    const onAppium = referenceTv(TV, tv.appium.url);
    const container = loadInventory().find((d) => d.driver === 'docker')!;
    files = labFiles({
      name: 'reservations',
      dir,
      inventoryYaml: YAML.stringify({
        devices: [onAppium, { ...onAppium, id: TV2, name: `${onAppium.name} 2` }, container],
      }),
      env: {
        DEVLAB_API_AUTH: 'true',
        DEVLAB_LOG_LEVEL: 'silent',
        DEVLAB_WEBDRIVER_MAX_RESERVATION_MS: '7200000',
      },
    });
    await start();
    tokens = partnerTokens(new TokensRepo(lab.server.store.db));
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
    await tv?.close();
    redis.disconnect();
    if (up) await files.remove();
  });

  it.skipIf(!up)('bad requests are refused saying what and where', async () => {
    const refused = async (res: Response, status: number) => {
      expect(res.status).toBe(status);
      return (await res.json()) as { error: string; field?: string };
    };
    expect(await refused(await reserve(tokens.acme, TV, { for: '45x' }), 400)).toEqual({
      error: 'for: "45x" is not a duration of at least 1 s: write it like 30m, 2h, 1h30m or 90s',
      field: 'for',
    });
    expect(await refused(await reserve(tokens.acme, TV, { for: '3h' }), 400)).toEqual({
      error: 'for: 3h is longer than a reservation may last here, 2h (webdriver.maxReservationMs)',
      field: 'for',
    });
    expect((await refused(await reserve(tokens.acme, TV, { for: '1m', colour: 'red' }), 400)).field).toBe(
      'colour',
    );
    expect((await refused(await reserve(tokens.acme, 'tv-nope', { for: '1m' }), 404)).error).toBe(
      'device tv-nope not found',
    );
    const container = loadInventory().find((d) => d.driver === 'docker')!.id;
    expect(await refused(await reserve(tokens.acme, container, { for: '1m' }), 422)).toEqual({
      error: `${container} is a docker device: only Appium devices can be reserved (a reservation is used through its WebDriver URL)`,
      field: 'device',
    });
    expect((await refused(await reserve('dlb_not-a-token', TV, { for: '1m' }), 401)).error).toBeTruthy();
    expect(await listed(tokens.admin)).toEqual([]);
    // In the API's OpenAPI document, generated from the same schemas; the WebDriver URL is W3C's, not in it.
    const doc = (await (await call(`${url()}/api/openapi.json`, null)).json()) as { paths: object };
    expect(Object.keys(doc.paths).filter((p) => p.includes('reservations'))).toEqual([
      '/api/devices/{id}/reservations',
      '/api/reservations',
      '/api/reservations/{id}',
    ]);
  });

  it.skipIf(!up)(
    'a reservation holds the TV: no catalog test, no other session or reservation; others see by whom and until when, not its URL',
    async () => {
      const r = await reserved(tokens.acme, TV, '10m', 'exploratory testing');
      expect(r).toMatchObject({ device: TV, partner: 'acme', note: 'exploratory testing' });
      expect(r.until - r.createdAt).toBe(600_000);
      expect(r.webdriverUrl).toBe(`${url()}/wd/hub/reservations/${r.id}`);
      try {
        // An agent's device worker takes the same lease for its catalog tests: refused.
        const agent = new DeviceLease(leases, TV, `agent-a/${TV}`, 60_000, 1000);
        expect(await agent.take()).toBeNull();
        expect(await leases.acquire(TV, `agent-a/${TV}`, 60_000)).toEqual({
          ok: false,
          reason: 'held by reservation/acme',
        });
        // Another partner's session for the TV waits its turn, and is refused saying who holds it.
        const waited = await newSession(`${url()}/wd/hub`, tokens.globex, {
          platformName: 'auroraos',
          'devlab:selector': `id:${TV}`,
          'devlab:queueTimeout': 0.5,
        });
        expect(waited.status).toBe(500);
        expect(((await waited.json()) as { value: { message: string } }).value.message).toBe(
          `waited 0.5 s for a device (${TV}) and none came free (${TV}: held by reservation/acme)`,
        );
        // A second reservation of the TV is refused at once, naming the holder and the end.
        const twice = await reserve(tokens.globex, TV, { for: '5m' });
        expect(twice.status).toBe(409);
        expect(await twice.json()).toEqual({
          error: `${TV} is reserved by acme until ${new Date(r.until).toISOString()}`,
          field: 'device',
        });

        // Every partner sees that the TV is reserved, by whom and until when; never its id or URL.
        const seen = (await devices(tokens.globex)).find((d) => d.id === TV)!;
        expect(seen).toMatchObject({
          leaseHolder: 'reservation/acme',
          reservation: { partner: 'acme', until: r.until },
        });
        expect(JSON.stringify(await devices(tokens.globex))).not.toContain(r.id);
        expect(await listed(tokens.globex)).toEqual([]);
        expect((await call(`${url()}/api/reservations/${r.id}`, tokens.globex)).status).toBe(404);
        expect(
          (await call(`${url()}/api/reservations/${r.id}`, tokens.globex, { method: 'DELETE' })).status,
        ).toBe(404);
        // Its partner sees its own, with the URL; an admin sees every partner's.
        const other = await reserved(tokens.globex, TV2, '5m');
        expect(await listed(tokens.acme)).toEqual([r]);
        expect(await listed(tokens.globex)).toEqual([other]);
        expect((await listed(tokens.admin)).map((x) => [x.partner, x.device]).sort()).toEqual([
          ['acme', TV],
          ['globex', TV2],
        ]);
        expect(
          (await call(`${url()}/api/reservations/${other.id}`, tokens.admin, { method: 'DELETE' })).status,
        ).toBe(200);
      } finally {
        expect(
          (await call(`${url()}/api/reservations/${r.id}`, tokens.acme, { method: 'DELETE' })).status,
        ).toBe(200);
      }
      expect(await leases.holder(TV)).toBeNull();
      expect(await leases.holder(TV2)).toBeNull();
      expect(await listed(tokens.admin)).toEqual([]);
    },
  );

  it.skipIf(!up)(
    'its holder opens sessions on exactly that TV through its URL; another partner cannot; releasing it ends the session',
    async () => {
      const r = await reserved(tokens.acme, TV, '10m');
      // Another partner's token, with or without the session's capabilities, gets nothing from the URL.
      const base = new URL(r.webdriverUrl).href;
      const stranger = await newSession(base, tokens.globex, { platformName: 'auroraos' });
      expect(stranger.status).toBe(404);
      expect(((await stranger.json()) as { value: unknown }).value).toMatchObject({
        error: 'session not created',
        message: `no reservation ${r.id} of partner globex: it ended, or was never made`,
      });
      expect((await newSession(base, null, { platformName: 'auroraos' })).status).toBe(401);

      const browser = await reservedClient(r, 'acme', tokens.acme);
      const caps = browser.capabilities as Record<string, unknown>;
      expect(caps['devlab:deviceId']).toBe(TV);
      await browser.url(tv.app.url);
      expect(await browser.getTitle()).toBe(TITLE);
      // One session at a time on a reserved device.
      const second = await newSession(base, tokens.acme, {});
      expect(((await second.json()) as { value: { message: string } }).value.message).toMatch(
        new RegExp(`^reservation ${r.id} already has a session \\(${browser.sessionId}\\) on ${TV}`),
      );
      await browser.deleteSession();
      // The session is over, the reservation is not: the TV is still held for acme, and a new session opens.
      expect((await leases.holder(TV))?.holder).toBe('reservation/acme');
      const again = await reservedClient(r, 'acme', tokens.acme);
      await again.url(tv.app.url);
      const runId = String((again.capabilities as Record<string, unknown>)['devlab:runId']);

      const released = await cli(tokens.acme, ['release', r.id]);
      expect(released).toMatchObject({ code: 0, stdout: `released ${r.id}: ${TV} is free\n` });
      await expect(again.getTitle()).rejects.toThrow(/has ended \(aborted by client\)/);
      expect(await leases.holder(TV)).toBeNull();
      const results = await call(`${url()}/api/runs/${runId}/results`, tokens.acme);
      const { run, jobs } = (await results.json()) as {
        run: { status: string };
        jobs: { deviceId: string; message: string }[];
      };
      expect(run.status).toBe('cancelled');
      expect(jobs[0]).toMatchObject({ deviceId: TV, message: `aborted: reservation ${r.id} was released` });
      // Ended: its URL opens nothing any more.
      expect((await newSession(base, tokens.acme, {})).status).toBe(404);
    },
  );

  it.skipIf(!up)(
    'the CLI reserves, lists and releases; `devices list` shows who holds a device until when',
    async () => {
      const made = await cli(tokens.acme, ['reserve', TV, '--for', '1h30m', '--note', 'soak']);
      expect(made.code).toBe(0);
      const id = /^reserved tv-4k-hdr for acme until \S+: (rsv-[0-9a-f-]+)$/m.exec(made.stdout)?.[1];
      expect(id, made.stdout).toBeDefined();
      expect(made.stdout).toContain(`WebDriver URL: ${url()}/wd/hub/reservations/${id}`);
      const busy = await cli(tokens.globex, ['reserve', TV, '--for', '5m']);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(new RegExp(`^devlab: ${TV} is reserved by acme until `));

      const mine = await cli(tokens.acme, ['reservations']);
      expect(mine.stdout).toContain(`${id}  ${TV}  acme  until `);
      const until = (await listed(tokens.acme))[0]!.until;
      const table = await cli(tokens.globex, ['list', '--inventory', files.inventory]);
      expect(table.code).toBe(0);
      const row = table.stdout.split('\n').find((l) => l.startsWith(`${TV} `));
      expect(row).toContain(`reserved by acme until ${new Date(until).toISOString()}`);
      expect(table.stdout).not.toContain(id!);

      expect((await cli(tokens.acme, ['release', id!])).code).toBe(0);
      expect(await listed(tokens.admin)).toEqual([]);
    },
    // Each CLI command is a process of its own (a few seconds apiece on a busy machine).
    180_000,
  );

  it.skipIf(!up)(
    'a reservation ends by itself at its end, with or without a control plane, and outlives a restart until then',
    async () => {
      // Ends while the control plane runs: the TV is free, for another partner's session too.
      await reserved(tokens.acme, TV, '2s');
      await vi.waitFor(async () => expect(await leases.holder(TV)).toBeNull(), {
        timeout: 20_000,
        interval: 100,
      });
      expect(await listed(tokens.admin)).toEqual([]);
      const after = await remote({
        hostname: '127.0.0.1',
        port: port(),
        path: '/wd/hub',
        headers: { authorization: `Bearer ${tokens.globex}` },
        logLevel: 'silent',
        connectionRetryCount: 0,
        capabilities: { platformName: 'auroraos', 'devlab:selector': `id:${TV}` } as WebdriverIO.Capabilities,
      });
      await after.deleteSession();

      // A long one and a short one, then the control plane stops: the short one ends in Redis by itself.
      const long = await reserved(tokens.acme, TV, '10m');
      await reserved(tokens.globex, TV2, '2s');
      await lab.close();
      await vi.waitFor(async () => expect(await leases.holder(TV2)).toBeNull(), {
        timeout: 20_000,
        interval: 100,
      });
      expect(await redis.exists(labKeys(files.prefix).reservation(long.id))).toBe(1);

      // The next life still has the long one, holding the TV, and ends it when asked.
      await start();
      expect(await listed(tokens.admin)).toEqual([
        { ...long, webdriverUrl: `${url()}/wd/hub/reservations/${long.id}` },
      ]);
      expect((await leases.holder(TV))?.holder).toBe('reservation/acme');
      expect(await leases.acquire(TV, `agent-a/${TV}`, 60_000)).toMatchObject({ ok: false });
      expect(
        (await call(`${url()}/api/reservations/${long.id}`, tokens.acme, { method: 'DELETE' })).status,
      ).toBe(200);
      expect(await leases.holder(TV)).toBeNull();
    },
  );
});
