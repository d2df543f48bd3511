import type { DevlabConfig } from '../config/config.ts';
import type { DeliveryRow, SigningHook } from '../store/hooks-repo.ts';
import { isRunOver } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { checkGithubRepo, checkHookUrl } from './allow-list.ts';
import { DELIVERY_HEADER, EVENT_HEADER, HOOK_HEADER, SIGNATURE_HEADER, signBody } from './signature.ts';
import { commitSha } from './targets.ts';

export type HookSettings = DevlabConfig['hooks'];

/** What one attempt came to. */
export interface Outcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** Sending it again will not help (a 4xx, a redirect, a host no longer allowed): no more retries. */
  permanent: boolean;
}

/** The start of an answer's body, read up to `max` bytes (the rest is dropped). */
async function answerStart(res: Response, max = 8192): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // The rest of the answer is not wanted; a cancel that fails has nothing left to free.
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** The `message` of a JSON error answer (GitHub's, Gate's), for the delivery log; null when it has none. */
async function answerMessage(res: Response): Promise<string | null> {
  try {
    const parsed = JSON.parse(await answerStart(res)) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message.slice(0, 300) : null;
  } catch {
    // Not JSON: the status code alone goes in the log.
    return null;
  }
}

function fetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (e.name === 'AbortError') return 'aborted: the control plane is stopping';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/**
 * One HTTP attempt of a delivery: POST of the stored body, signed with the hook's secret
 * (`X-Devlab-Signature-256: sha256=<hex>`), its id in `X-Devlab-Delivery`. Checks the allow-lists again
 * first (they may have shrunk since the hook was added); never follows a redirect. `abortAll` ends the
 * requests in flight (the control plane is stopping).
 */
export class HookSender {
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly store: Store,
    private readonly settings: HookSettings,
  ) {}

  abortAll(): void {
    for (const ac of this.inflight) ac.abort();
  }

  /** Where a delivery goes and the target's own headers; throws (a permanent failure) when it cannot be sent. */
  private destination(hook: SigningHook, delivery: DeliveryRow): { url: URL; extra: Record<string, string> } {
    const { allowHosts, githubToken, githubRepos } = this.settings;
    if (hook.target !== 'github') return { url: checkHookUrl(hook.url, allowHosts), extra: {} };
    const run = this.store.runs.get(delivery.runId);
    const sha = run ? commitSha(run.build) : null;
    if (!run || sha === null)
      throw new Error(
        `not sent: build ${JSON.stringify(run?.build ?? '?')} is not a commit SHA (40 hex digits, or <version>@<sha>): a commit status needs the commit`,
      );
    // A pending status retried after the run finished would hide the final one.
    if (delivery.event === 'run.started' && isRunOver(run.status))
      throw new Error('not sent: the run is over, its final status supersedes pending');
    if (!githubToken) throw new Error('not sent: no GitHub token (hooks.githubToken / DEVLAB_GITHUB_TOKEN)');
    // The partner's repositories may have changed since the hook was added.
    checkGithubRepo(hook.partner, hook.targetOptions.repo ?? '', githubRepos);
    return {
      url: checkHookUrl(`${hook.url}/${sha}`, allowHosts),
      extra: {
        authorization: `Bearer ${githubToken}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
      },
    };
  }

  async send(hook: SigningHook, delivery: DeliveryRow, body: string, attempt: number): Promise<Outcome> {
    const { timeoutMs } = this.settings;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let destination: { url: URL; extra: Record<string, string> };
    try {
      destination = this.destination(hook, delivery);
    } catch (err) {
      return { ok: false, statusCode: null, durationMs: 0, error: (err as Error).message, permanent: true };
    }
    const abort = new AbortController();
    this.inflight.add(abort);
    try {
      const res = await fetch(destination.url, {
        method: 'POST',
        body,
        // A redirect is never followed: it could lead anywhere, the allow-list says where deliveries go.
        redirect: 'manual',
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'devlab-hooks/1',
          [SIGNATURE_HEADER]: signBody(hook.secret, body),
          [DELIVERY_HEADER]: delivery.id,
          [EVENT_HEADER]: delivery.event,
          [HOOK_HEADER]: hook.id,
          'X-Devlab-Attempt': String(attempt),
          ...destination.extra,
        },
      });
      const statusCode = res.status;
      // A generic receiver's answer is not read: its status is all a delivery needs. GitHub and Gate
      // say why they refused in a JSON `message`, kept in the log.
      const why =
        hook.target !== 'generic' && (statusCode < 200 || statusCode >= 300)
          ? await answerMessage(res)
          : null;
      // The answer's body is not wanted; a cancel that fails has nothing left to free.
      await res.body?.cancel().catch(() => {});
      if (statusCode >= 200 && statusCode < 300)
        return { ok: true, statusCode, durationMs: elapsed(), error: null, permanent: false };
      if (statusCode >= 300 && statusCode < 400) {
        const to = res.headers.get('location') ?? '(no location)';
        return {
          ok: false,
          statusCode,
          durationMs: elapsed(),
          error: `HTTP ${statusCode}: redirect to ${to.slice(0, 200)} not followed; point the hook at the final URL`,
          permanent: true,
        };
      }
      // Client errors other than timeouts and throttling will answer the same again.
      const permanent = statusCode < 500 && statusCode !== 408 && statusCode !== 429;
      const error = why ? `HTTP ${statusCode}: ${why}` : `HTTP ${statusCode}`;
      return { ok: false, statusCode, durationMs: elapsed(), error, permanent };
    } catch (err) {
      // Logged by the caller with the delivery's fields, and kept in the delivery log.
      return {
        ok: false,
        statusCode: null,
        durationMs: elapsed(),
        error: fetchError(err, timeoutMs),
        permanent: false,
      };
    } finally {
      this.inflight.delete(abort);
    }
  }
}
