import { loadConfig } from '../config/config.ts';
import { ApiClient, serverUrl } from './api-client.ts';
import { reportError } from './commands/run.ts';

/** The options of a command that asks the control plane's API. */
export interface ServerOption {
  server?: string;
  json?: boolean;
}

/**
 * Runs `fn` against the API (`--server`, else DEVLAB_SERVER_URL, else the configured one) as DEVLAB_TOKEN
 * and prints its answer as JSON (`--json`) or through `text`; an error goes to stderr with exit code 2.
 */
export async function apiAction<T>(
  opts: ServerOption,
  fn: (api: ApiClient) => Promise<T>,
  text: (v: T) => string,
): Promise<void> {
  try {
    const api = new ApiClient(serverUrl(loadConfig(), opts.server), process.env['DEVLAB_TOKEN']);
    const value = await fn(api);
    process.stdout.write(opts.json ? `${JSON.stringify(value, null, 2)}\n` : text(value));
  } catch (err) {
    reportError(err);
  }
}
