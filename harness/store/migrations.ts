/** Schema versions in order; each runs once, inside a transaction, and bumps `user_version`. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    priority TEXT NOT NULL,
    build TEXT NOT NULL,
    request_json TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    plan_json TEXT
  );
  CREATE INDEX runs_partner ON runs(partner, created_at);
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    test_id TEXT NOT NULL,
    pool TEXT NOT NULL,
    device_model TEXT NOT NULL DEFAULT '',
    device_firmware TEXT NOT NULL DEFAULT '',
    device_platform TEXT NOT NULL DEFAULT '',
    component TEXT NOT NULL DEFAULT '',
    score REAL,
    reasons_json TEXT,
    est_duration_ms INTEGER,
    max_retries INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    verdict TEXT,
    device_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    infra_attempts INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER,
    signature TEXT,
    message TEXT,
    skip_reason TEXT,
    finished_at INTEGER
  );
  CREATE INDEX jobs_run ON jobs(run_id, seq);
  CREATE INDEX jobs_test ON jobs(test_id, finished_at);
  CREATE INDEX jobs_finished ON jobs(finished_at);
  CREATE TABLE attempts (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    attempt INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    device_id TEXT,
    agent TEXT NOT NULL,
    status TEXT NOT NULL,
    error_kind TEXT,
    message TEXT,
    stack TEXT,
    signature TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (job_id, attempt)
  );
  CREATE INDEX attempts_run ON attempts(run_id);
  CREATE TABLE case_results (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    classname TEXT NOT NULL,
    verdict TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    message TEXT,
    PRIMARY KEY (job_id, attempt, idx)
  );
  CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX artifacts_job ON artifacts(job_id, attempt);
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX events_run ON events(run_id, seq);
  `,
  // Partner API tokens: only the sha256 of a token is stored, so a copy of the database grants nothing.
  `
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('partner', 'admin')),
    hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX api_tokens_partner ON api_tokens(partner);
  `,
  // Open jobs of a run are counted after every result: a partial index keeps that independent of run size.
  `
  CREATE INDEX jobs_open ON jobs(run_id) WHERE state != 'done';
  `,
  // The history service replays finished runs newest-bounded, in the order they finished.
  `
  CREATE INDEX runs_finished ON runs(finished_at);
  `,
  // Idempotent submit: a client key names one run per partner; the unique index is the last line of
  // defence when two submits with the same key race (harness/server/idempotent-submits.ts).
  `
  ALTER TABLE runs ADD COLUMN idempotency_key TEXT;
  CREATE UNIQUE INDEX runs_idempotency ON runs(partner, idempotency_key) WHERE idempotency_key IS NOT NULL;
  `,
  // An artifact an agent had to drop (its spool was full) is recorded as lost with the reason, so a run's
  // results say which evidence is missing instead of silently having less (harness/artifacts/artifact-store.ts).
  `
  ALTER TABLE artifacts ADD COLUMN state TEXT NOT NULL DEFAULT 'stored' CHECK (state IN ('stored', 'lost'));
  ALTER TABLE artifacts ADD COLUMN reason TEXT;
  `,
  // Outbound webhooks (harness/hooks/): subscriptions (a NULL partner is an admin's hook, for every
  // partner's runs; the secret is kept to sign deliveries and never answered again), one delivery per hook
  // and event (its id is the receiver's idempotency key), and every attempt of it.
  `
  CREATE TABLE hooks (
    id TEXT PRIMARY KEY,
    partner TEXT,
    url TEXT NOT NULL,
    events_json TEXT NOT NULL,
    query TEXT,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER
  );
  CREATE INDEX hooks_partner ON hooks(partner);
  CREATE TABLE hook_deliveries (
    id TEXT PRIMARY KEY,
    hook_id TEXT NOT NULL REFERENCES hooks(id),
    event TEXT NOT NULL,
    event_key TEXT NOT NULL,
    run_id TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX hook_deliveries_event ON hook_deliveries(hook_id, event_key);
  CREATE INDEX hook_deliveries_pending ON hook_deliveries(state) WHERE state = 'pending';
  CREATE TABLE hook_attempts (
    delivery_id TEXT NOT NULL REFERENCES hook_deliveries(id),
    attempt INTEGER NOT NULL,
    status_code INTEGER,
    duration_ms INTEGER NOT NULL,
    error TEXT,
    manual INTEGER NOT NULL DEFAULT 0,
    at INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
  );
  `,
  // Hook targets (harness/hooks/targets.ts): what a delivery is shaped for and where it goes — `generic`
  // (the signed devlab event), `spinnaker` (a Gate webhook trigger; `target_json` has its source) or
  // `github` (a commit status; `target_json` has the repository and status context); `only_passed` sends
  // run.finished for passed runs only.
  `
  ALTER TABLE hooks ADD COLUMN target TEXT NOT NULL DEFAULT 'generic';
  ALTER TABLE hooks ADD COLUMN target_json TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE hooks ADD COLUMN only_passed INTEGER NOT NULL DEFAULT 0;
  `,
  // What made a run: `catalog` (planned from the catalog, the lab's history) or `webdriver` (a client's own
  // Appium session through /wd/hub, harness/webdriver/: one job, one attempt, never history or training).
  `
  ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'catalog' CHECK (kind IN ('catalog', 'webdriver'));
  `,
];
