import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../harness/api/app.ts';
import type { DevicesProvider } from '../../harness/api/devices-provider.ts';
import type { ReportProvider } from '../../harness/history/prediction-report.ts';
import { ArtifactStore } from '../../harness/artifacts/artifact-store.ts';
import { TokensRepo } from '../../harness/store/tokens-repo.ts';
import type { LabHarness } from '../support/lab-harness.ts';

export interface AuthedApi {
  app: FastifyInstance;
  url: string;
  tokens: TokensRepo;
  close(): Promise<void>;
}

/**
 * A second API with auth on, over the lab's own control plane and store; the lab's agents keep
 * uploading through the lab's API, so this one is exactly what a partner would talk to.
 */
export async function startAuthedApi(
  lab: LabHarness,
  options: {
    maxFailuresPerMinute?: number;
    bodyLimitBytes?: number;
    devices?: DevicesProvider;
    report?: ReportProvider;
  } = {},
): Promise<AuthedApi> {
  const tokens = new TokensRepo(lab.store.db);
  const app = buildApi({
    controlPlane: lab.controlPlane,
    artifacts: new ArtifactStore(lab.home, lab.store.artifacts),
    tokens,
    auth: {
      enabled: true,
      ...(options.maxFailuresPerMinute ? { maxFailuresPerMinute: options.maxFailuresPerMinute } : {}),
    },
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...(options.devices ? { devices: options.devices } : {}),
    ...(options.report ? { report: options.report } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, tokens, close: () => app.close() };
}

export type PartnerTokens = { acme: string; globex: string; admin: string };

/** The tests' usual tokens: two partners' (acme, globex) and an admin's (ops), created in `repo`'s store. */
export function partnerTokens(repo: TokensRepo): PartnerTokens {
  return {
    acme: repo.create('acme').token,
    globex: repo.create('globex').token,
    admin: repo.create('ops', 'admin').token,
  };
}

/** fetch with a bearer token (or none). */
export function call(
  url: string,
  token: string | null,
  init: { method?: string; body?: unknown; raw?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(url, { method: init.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) });
}
