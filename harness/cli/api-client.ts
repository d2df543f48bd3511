import type { DevlabConfig } from '../config/config.ts';

/** A JSON error answer of the API, shown to the user with its field and caret detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: string,
    /** The part of the request it is about (`query`, `select`, `suites`, a header), when the answer says. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * No answer at all: the server could not be reached, the connection failed or was reset, or the answer
 * did not come within the timeout. The request may or may not have been handled.
 */
export class ApiUnreachableError extends ApiError {
  constructor(
    message: string,
    /** What failed, e.g. `ECONNREFUSED`, `ECONNRESET`, `timed out after 60 s`. */
    readonly reason: string,
  ) {
    super(0, message);
    this.name = 'ApiUnreachableError';
  }
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** How long to wait for the answer (default 60 s). */
  timeoutMs?: number;
}

/** An answer with its status and headers. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** Why fetch failed, as short as the cause allows (`ECONNREFUSED`, `UND_ERR_SOCKET`, a timeout). */
function fetchFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

export function serverUrl(config: DevlabConfig, override?: string): string {
  return override ?? process.env['DEVLAB_SERVER_URL'] ?? `http://${config.api.host}:${config.api.port}`;
}

/** The CLI's client of the control plane's HTTP API. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return (await this.send<T>(method, path, body, options)).body;
  }

  /** The request with the answer's status and headers; an answer that is not 2xx throws an ApiError. */
  async send<T>(
    method: string,
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const headers: Record<string, string> = { ...options.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      // A connection reset mid-answer fails here: no answer either.
      text = await res.text();
    } catch (err) {
      const reason = fetchFailure(err, timeoutMs);
      throw new ApiUnreachableError(
        `cannot reach the devlab server at ${this.baseUrl} (${reason}); start it with \`devlab server\` or set --server`,
        reason,
      );
    }
    if (!res.ok) {
      let parsed: { error?: string; detail?: string; field?: string } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = { error: text };
      }
      throw new ApiError(res.status, parsed.error ?? `HTTP ${res.status}`, parsed.detail, parsed.field);
    }
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      headers: res.headers,
      body: (type.includes('json') ? JSON.parse(text) : text) as T,
    };
  }
}
