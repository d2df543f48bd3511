import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiError, ApiUnreachableError } from './api-client.ts';

/**
 * GETs `path` from the control plane and streams the answer's body into `out` (a file or stdout) as it
 * comes, never holding it whole: for answers as big as the lab's history. An answer that is not 2xx is an
 * ApiError with the server's message; no answer at all an ApiUnreachableError.
 */
export async function streamDownload(
  baseUrl: string,
  token: string | undefined,
  path: string,
  out: Writable,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL(path, baseUrl), {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (err) {
    const e = err as { cause?: { code?: string }; message?: string };
    const reason = e.cause?.code ?? e.message ?? String(err);
    throw new ApiUnreachableError(
      `cannot reach the devlab server at ${baseUrl} (${reason}); start it with \`devlab server\` or set --server`,
      reason,
    );
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let parsed: { error?: string; detail?: string; field?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = { error: text };
    }
    throw new ApiError(res.status, parsed.error || `HTTP ${res.status}`, parsed.detail, parsed.field);
  }
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), out);
}
