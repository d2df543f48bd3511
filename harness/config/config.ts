import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { type ConfigFileLayer, readConfigFile } from './config-file.ts';
import { INSTALLED_AS_DEPENDENCY, PROJECT_ROOT } from './project-root.ts';
import { commaList, resolvePaths } from './config-paths.ts';
import { suggest } from '../../suites/query/suggestions.ts';

const port = z.coerce.number().int().min(1).max(65535);

/** `acme:acme/player, acme:acme/web` (an environment variable) as `{ acme: ['acme/player', 'acme/web'] }`. */
function partnerPairs(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const out: Record<string, string[]> = {};
  for (const pair of commaList(value) as string[]) {
    const at = pair.indexOf(':');
    // Without a partner, the key is the whole entry and fails the partner-id check, naming it.
    const partner = at < 0 ? pair : pair.slice(0, at).trim();
    out[partner] = [...(out[partner] ?? []), at < 0 ? '' : pair.slice(at + 1).trim()];
  }
  return out;
}

export const configSchema = z
  .object({
    /** Data dir: the store, artifacts, models and logs. */
    home: z.string().min(1),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379'),
    /** Prefix of every Redis key and queue of this lab: labs sharing a Redis stay apart. */
    redisPrefix: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and -'),
    dockerSocket: z.string().min(1),
    appium: z
      .object({
        host: z.string().min(1),
        port,
        home: z.string().min(1),
      })
      .strict(),
    chromium: z.string().min(1),
    chromedriver: z.string().min(1),
    api: z
      .object({
        host: z.string().min(1),
        port,
        /** Bearer tokens per partner on /api (see `devlab tokens`). */
        auth: z.union([z.boolean(), z.stringbool()]),
      })
      .strict(),
    agent: z
      .object({
        /** Device lease TTL; a dead agent's devices are free again after it. */
        leaseTtlMs: z.coerce.number().int().min(500).max(600_000),
        /** Queue job lock; a dead agent's running job is handed to another after it. */
        lockDurationMs: z.coerce.number().int().min(1000).max(600_000),
        /** Test sessions running at once on one agent host; 0 = its CPU cores. */
        maxSessions: z.coerce.number().int().min(0).max(256),
        /** Periodic health checks of the agent's devices: how soon a quarantined device comes back. */
        healthIntervalMs: z.coerce.number().int().min(100).max(3_600_000),
      })
      .strict(),
    history: z
      .object({
        /**
         * The lab history's window: what the history fields (`failrate`, `failed_in_last`, ...), the
         * ranking and the model's training read. The one place this window is set.
         */
        windowDays: z.coerce.number().int().min(1).max(3650),
        /**
         * At most this many finished jobs (the newest) are replayed into the history service at start and
         * trained on: a bigger lab keeps its newest rows, never its oldest.
         */
        maxRows: z.coerce.number().int().min(1000).max(50_000_000),
      })
      .strict(),
    /** Signed outbound webhooks (`devlab hooks`, harness/hooks/). */
    hooks: z
      .object({
        /**
         * Hosts a hook may target: exact names or IP addresses, or `*.example.com` for its subdomains. A
         * comma-separated list in DEVLAB_HOOKS_ALLOW_HOSTS. Default: loopback only.
         */
        allowHosts: z.preprocess(
          commaList,
          z.array(z.string().regex(/^(\*\.)?[A-Za-z0-9._:-]+$/, 'a host name, an IP address or *.domain')),
        ),
        /** How long one delivery attempt may take (connect, send, answer). */
        timeoutMs: z.coerce.number().int().min(100).max(120_000),
        /** Delivery attempts before a delivery is given up (each failed attempt waits longer). */
        attempts: z.coerce.number().int().min(1).max(100),
        /** The wait after the first failed attempt; it doubles after each next one, up to `maxBackoffMs`. */
        backoffMs: z.coerce.number().int().min(1).max(3_600_000),
        maxBackoffMs: z.coerce
          .number()
          .int()
          .min(1)
          .max(24 * 3_600_000),
        /**
         * The control plane's URL as receivers reach it, for the links in a delivery (results, JUnit);
         * default: the API's own address.
         */
        publicUrl: z.union([z.url({ protocol: /^https?$/ }), z.literal('')]),
        /**
         * The token of hooks with a `github` target (commit statuses): sent as `Authorization: Bearer` to
         * `githubApiUrl` only, never stored with a delivery or logged. Needs "Commit statuses: write" on
         * the repositories hooks name. DEVLAB_GITHUB_TOKEN.
         */
        githubToken: z.string().max(1000),
        /**
         * GitHub's REST API (GitHub Enterprise Server: `https://HOST/api/v3`); its host must be on
         * `allowHosts` too. DEVLAB_GITHUB_API_URL.
         */
        githubApiUrl: z.url({ protocol: /^https?$/ }),
        /**
         * The repositories each partner's github hooks may set statuses on: `owner/name`, or `owner/*` for
         * all of an owner's. A partner not named may add none; an admin's hook for every partner is not
         * limited. DEVLAB_HOOKS_GITHUB_REPOS: `partner:owner/name` pairs, comma-separated.
         */
        githubRepos: z.preprocess(
          partnerPairs,
          z.record(
            z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a partner id'),
            z.array(
              z
                .string()
                .regex(
                  /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/(\*|[A-Za-z0-9._-]{1,100})$/,
                  'owner/name or owner/*',
                ),
            ),
            { error: 'a key is a partner id (DEVLAB_HOOKS_GITHUB_REPOS: partner:owner/name, ...)' },
          ),
        ),
      })
      .strict(),
    /** The WebDriver endpoint (`/wd/hub`, harness/webdriver/): Appium clients get a lab device through it. */
    webdriver: z
      .object({
        /** How long a new session may wait for a matching device before it is refused (`session not created`). */
        queueTimeoutMs: z.coerce.number().int().min(100).max(3_600_000),
        /** A session that gets no command for this long is ended and its device freed (a client that died). */
        idleTimeoutMs: z.coerce.number().int().min(100).max(3_600_000),
        /** The longest a device reservation may last (`devlab devices reserve --for`); at most 7 days. */
        maxReservationMs: z.coerce.number().int().min(1000).max(604_800_000),
      })
      .strict(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /**
     * The suite folders: folders or globs of folders, relative to the config file (DEVLAB_SUITES:
     * comma-separated, relative to the working directory). Loaded as absolute folders; default: devlab's own
     * `suites/`. A command's `--suites` wins.
     */
    suites: z.preprocess(commaList, z.array(z.string().min(1)).min(1, 'name at least one folder')).optional(),
    /** The device inventory file, relative to the config file (DEVLAB_INVENTORY). A command's `--inventory` wins. */
    inventory: z.string().min(1).optional(),
    /**
     * Which changed paths belong to which component, for a run request's `change.changedPaths`:
     * `{ player: ['src/player/**'] }` (picomatch globs, relative to the repository root).
     */
    components: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
  })
  .strict();

export type DevlabConfig = z.infer<typeof configSchema>;

/** Defaults; the data dir is the checkout's `.devlab`, or `.devlab` in the working directory of an installed devlab. */
const DEFAULTS: DevlabConfig = {
  home: INSTALLED_AS_DEPENDENCY ? '.devlab' : path.join(PROJECT_ROOT, '.devlab'),
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'devlab',
  dockerSocket: '/var/run/docker.sock',
  appium: { host: '127.0.0.1', port: 4723, home: PROJECT_ROOT },
  chromium: '/usr/bin/chromium',
  chromedriver: '/usr/bin/chromedriver',
  api: { host: '127.0.0.1', port: 7420, auth: false },
  agent: { leaseTtlMs: 15_000, lockDurationMs: 30_000, maxSessions: 0, healthIntervalMs: 30_000 },
  history: { windowDays: 90, maxRows: 1_000_000 },
  // 30 s, 1 min, 2 min, ... then hourly: 15 attempts span about 8 hours.
  hooks: {
    allowHosts: ['127.0.0.1', '::1', 'localhost'],
    timeoutMs: 10_000,
    attempts: 15,
    backoffMs: 30_000,
    maxBackoffMs: 3_600_000,
    publicUrl: '',
    githubToken: '',
    githubApiUrl: 'https://api.github.com',
    githubRepos: {},
  },
  webdriver: { queueTimeoutMs: 300_000, idleTimeoutMs: 120_000, maxReservationMs: 28_800_000 },
  logLevel: 'info',
  components: {},
};

/** Environment variables and the config path each one sets. */
const ENV_FIELDS: Record<string, string[]> = {
  DEVLAB_HOME: ['home'],
  DEVLAB_REDIS_URL: ['redisUrl'],
  DEVLAB_REDIS_PREFIX: ['redisPrefix'],
  DEVLAB_DOCKER_SOCKET: ['dockerSocket'],
  DEVLAB_APPIUM_HOST: ['appium', 'host'],
  DEVLAB_APPIUM_PORT: ['appium', 'port'],
  APPIUM_HOME: ['appium', 'home'],
  DEVLAB_CHROMIUM: ['chromium'],
  DEVLAB_CHROMEDRIVER: ['chromedriver'],
  DEVLAB_API_HOST: ['api', 'host'],
  DEVLAB_API_PORT: ['api', 'port'],
  DEVLAB_API_AUTH: ['api', 'auth'],
  DEVLAB_LOG_LEVEL: ['logLevel'],
  DEVLAB_LEASE_TTL_MS: ['agent', 'leaseTtlMs'],
  DEVLAB_JOB_LOCK_MS: ['agent', 'lockDurationMs'],
  DEVLAB_MAX_SESSIONS: ['agent', 'maxSessions'],
  DEVLAB_HEALTH_INTERVAL_MS: ['agent', 'healthIntervalMs'],
  DEVLAB_HISTORY_WINDOW_DAYS: ['history', 'windowDays'],
  DEVLAB_HISTORY_MAX_ROWS: ['history', 'maxRows'],
  DEVLAB_HOOKS_ALLOW_HOSTS: ['hooks', 'allowHosts'],
  DEVLAB_HOOKS_TIMEOUT_MS: ['hooks', 'timeoutMs'],
  DEVLAB_HOOKS_ATTEMPTS: ['hooks', 'attempts'],
  DEVLAB_HOOKS_BACKOFF_MS: ['hooks', 'backoffMs'],
  DEVLAB_HOOKS_MAX_BACKOFF_MS: ['hooks', 'maxBackoffMs'],
  DEVLAB_PUBLIC_URL: ['hooks', 'publicUrl'],
  DEVLAB_GITHUB_TOKEN: ['hooks', 'githubToken'],
  DEVLAB_GITHUB_API_URL: ['hooks', 'githubApiUrl'],
  DEVLAB_HOOKS_GITHUB_REPOS: ['hooks', 'githubRepos'],
  DEVLAB_WEBDRIVER_QUEUE_TIMEOUT_MS: ['webdriver', 'queueTimeoutMs'],
  DEVLAB_WEBDRIVER_IDLE_TIMEOUT_MS: ['webdriver', 'idleTimeoutMs'],
  DEVLAB_WEBDRIVER_MAX_RESERVATION_MS: ['webdriver', 'maxReservationMs'],
  DEVLAB_SUITES: ['suites'],
  DEVLAB_INVENTORY: ['inventory'],
};

type Layer = Record<string, unknown>;

function setPath(target: Layer, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node[key] = typeof next === 'object' && next !== null ? { ...(next as Layer) } : {};
    node = node[key] as Layer;
  }
  node[keys[keys.length - 1] as string] = value;
}

function merge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      typeof value === 'object' && value !== null && !Array.isArray(value) && typeof prev === 'object' && prev
        ? merge(prev as Layer, value as Layer)
        : value;
  }
  return out;
}

/** The keys a config object at `keys` may have, for "did you mean". */
function knownKeys(keys: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = configSchema;
  for (const key of keys) {
    const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
    if (!shape || typeof key !== 'string' || !shape[key]) return [];
    schema = shape[key];
  }
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * Validates after each layer so that the error names the layer that brought the bad value; for the config
 * file also its line and column, and for an unknown key the key it resembles.
 */
function check(merged: Layer, source: string, file?: ConfigFileLayer): void {
  const result = configSchema.safeParse(merged);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  let detail = issue.message;
  if (unknownKey !== undefined) {
    const guess = suggest(unknownKey, knownKeys(issue.path));
    if (guess) detail += ` (did you mean "${guess}"?)`;
  }
  const field = [...issue.path, ...(unknownKey === undefined ? [] : [unknownKey])].join('.') || '(root)';
  throw new ConfigError(source, field, detail, file?.positionOf(issue.path, unknownKey));
}

export interface LoadConfigOptions {
  /**
   * A YAML file; default DEVLAB_CONFIG (`devlab --config FILE` sets it), else `devlab.config.yaml` in the
   * working directory if present. Paths in it are relative to its folder.
   */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Defaults, then the config file, then environment variables; each layer validated where it comes from. */
export function loadConfig(options: LoadConfigOptions = {}): DevlabConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let merged: Layer = DEFAULTS as unknown as Layer;

  const file = path.resolve(cwd, options.file ?? env['DEVLAB_CONFIG'] ?? 'devlab.config.yaml');
  if (options.file || env['DEVLAB_CONFIG'] || existsSync(file)) {
    if (!existsSync(file)) throw new ConfigError(file, '(file)', 'file not found');
    const layer = readConfigFile(file, readFileSync(file, 'utf8'));
    check(merge(merged, layer.settings), file, layer);
    merged = merge(merged, resolvePaths(layer.settings, path.dirname(file), file, layer));
  }

  for (const [name, keys] of Object.entries(ENV_FIELDS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const source = `environment variable ${name}`;
    const layer: Layer = {};
    setPath(layer, keys, value);
    check(merge(merged, layer), source);
    merged = merge(merged, resolvePaths(layer, cwd, source));
  }
  const final = configSchema.parse(merged);
  return { ...final, home: path.resolve(cwd, final.home) };
}
