import type { DevlabConfig } from '../config/config.ts';

/** A JSON error answer of the API, shown to the user with its field and caret detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
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

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new ApiError(
        0,
        `cannot reach the devlab server at ${this.baseUrl} (${(err as Error).message}); start it with \`devlab server\` or set --server`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let parsed: { error?: string; detail?: string } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = { error: text };
      }
      throw new ApiError(res.status, parsed.error ?? `HTTP ${res.status}`, parsed.detail);
    }
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? JSON.parse(text) : text) as T;
  }
}
