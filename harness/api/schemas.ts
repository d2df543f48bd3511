import { z } from 'zod';
import { DRIVER_KINDS } from '../../devices/device.ts';
import { INPUT_KINDS, RESOLUTIONS } from '../../devices/capabilities.ts';
import { triageSchema } from '../../analysis/triage/triage.ts';
import { planConfidenceSchema } from '../planner/plan-confidence.ts';
import { ORDERINGS, PRIORITY_CLASSES, runRequestSchema } from '../protocol/run-request.ts';
import { ATTEMPT_STATUSES, VERDICTS } from '../protocol/verdict.ts';
import { RUN_STATUSES } from '../store/runs-repo.ts';

/*
 * The API's request and response schemas. Requests are validated with them by the route schemas
 * (`validation.ts`); answers are serialized through them, so a field the code adds to a row or a view shows
 * up in an answer only once it is named here. Answer schemas hold no defaults, transforms or `.strict()`:
 * they describe what the server sends, and a row written by an older version must still serialize.
 */

/**
 * `true` when A and B have the same keys: a view typed with a schema's output, checked against the row it
 * is built from, makes a column added to the row a compile error until the schema names it (or leaves it
 * out on purpose), so that no field is shown, or dropped, by accident.
 */
export type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : false;

/** Body of the admin device actions: the reason lands in the device's transition log. */
export const deviceActionSchema = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

export const errorSchema = z.object({
  error: z.string().describe('what was wrong, bounded to 1000 characters'),
  field: z.string().optional().describe('the field, query parameter or header it was about'),
  detail: z.string().optional().describe('a rendered hint, e.g. the caret under a query'),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
});

/** The run request as the run row keeps it (after defaults). */
const storedRequestSchema = z.object({
  query: z.string(),
  select: z.string(),
  build: z.string(),
  baseBuild: z.string().optional(),
  /** The change under test, as submitted (absent on runs stored before it existed). */
  change: z
    .object({
      commit: z.string().optional(),
      changedPaths: z.array(z.string()).optional(),
      components: z.array(z.string()).optional(),
    })
    .optional(),
  partner: z.string(),
  priority: z.enum(PRIORITY_CLASSES),
  options: z.object({
    retries: z.number().int().optional(),
    maxParallel: z.number().int().optional(),
    budgetS: z.number().optional(),
    confidence: z.number().optional(),
    // Optional here: a run stored before a default existed has no value for it.
    ordering: z.enum(ORDERINGS).optional(),
    changedComponents: z.array(z.string()).optional(),
    infraRetries: z.number().int().optional(),
  }),
});

const unplannedSchema = z.object({ testId: z.string(), reasons: z.array(z.string()) });
const budgetSchema = z.object({ budgetS: z.number(), selectedS: z.number(), skippedJobs: z.number() });

export const runViewSchema = z.object({
  id: z.string(),
  partner: z.string(),
  priority: z.string(),
  build: z.string(),
  status: z.enum(RUN_STATUSES),
  pipelineStatus: z.enum(['RUNNING', 'SUCCEEDED', 'TERMINAL']),
  done: z.boolean(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  request: storedRequestSchema,
  /** Jobs per verdict, `pending` for the open ones. */
  counts: z.record(z.string(), z.number()),
  total: z.number(),
  /** Per device (or pool, before a device took the job): done, test failures, infrastructure errors. */
  devices: z.record(
    z.string(),
    z.object({ done: z.number(), failed: z.number(), errors: z.number(), total: z.number() }),
  ),
  /** What the plan kept of itself: the pools' devices, the unplanned tests, the ranker, the budget and confidence cuts. */
  plan: z
    .object({
      pools: z.record(z.string(), z.array(z.string())),
      unplanned: z.array(unplannedSchema),
      ranker: z.string().optional(),
      budget: budgetSchema.nullable().optional(),
      confidence: planConfidenceSchema.nullable().optional(),
    })
    .nullable(),
});
export type RunView = z.output<typeof runViewSchema>;

/** Suite files the lab started without (`devlab server --allow-broken`), on a request that allowed it. */
const droppedSuitesSchema = z
  .array(z.string())
  .optional()
  .describe('`file:line:column: message` of each suite file whose tests the lab does not have');

/** The answer to POST /api/runs: the run, an absolute URL to poll, the unplanned tests and the jobs in order. */
export const submittedRunSchema = runViewSchema.extend({
  statusUrl: z.string().describe('absolute URL of the run, for pollers that cannot resolve a relative one'),
  unplanned: z.array(unplannedSchema),
  droppedSuites: droppedSuitesSchema,
  jobs: z.array(
    z.object({
      id: z.string(),
      testId: z.string(),
      pool: z.string(),
      score: z.number(),
      reasons: z.array(z.string()),
      skipReason: z.string().nullable(),
    }),
  ),
});
export type SubmittedRun = z.output<typeof submittedRunSchema>;

const attemptViewSchema = z.object({
  jobId: z.string(),
  attempt: z.number().int(),
  runId: z.string(),
  deviceId: z.string().nullable(),
  agent: z.string(),
  status: z.enum(ATTEMPT_STATUSES),
  errorKind: z.string().nullable(),
  message: z.string().nullable(),
  signature: z.string().nullable(),
  startedAt: z.number(),
  endedAt: z.number(),
  durationMs: z.number(),
});

/**
 * A second execution of an attempt already stored (an `attempt.duplicate` event): what it did, on which
 * device, with its own artifacts; the verdict stays the stored attempt's.
 */
const duplicateExecutionSchema = z.object({
  attempt: z.number().int(),
  deviceId: z.string().nullable(),
  agent: z.string(),
  status: z.string(),
  errorKind: z.string().nullable(),
  message: z.string().nullable(),
  startedAt: z.number(),
  endedAt: z.number(),
  artifacts: z.array(z.object({ id: z.string(), name: z.string(), url: z.string() })),
  /** Where the stored attempt ran, for comparison. */
  stored: z.object({ deviceId: z.string().nullable(), agent: z.string(), status: z.string() }),
  /** A sentence for people: what happened and that the verdict does not count it. */
  note: z.string(),
});
export type DuplicateExecutionView = z.output<typeof duplicateExecutionSchema>;

const caseViewSchema = z.object({
  name: z.string(),
  classname: z.string(),
  verdict: z.enum(['passed', 'failed', 'skipped', 'error']),
  durationMs: z.number(),
  message: z.string().optional(),
});

export const jobViewSchema = z.object({
  id: z.string(),
  runId: z.string(),
  seq: z.number().int(),
  testId: z.string(),
  pool: z.string(),
  deviceModel: z.string(),
  deviceFirmware: z.string(),
  devicePlatform: z.string(),
  component: z.string(),
  score: z.number().nullable(),
  reasons: z.array(z.string()),
  estDurationMs: z.number().nullable(),
  maxRetries: z.number().int(),
  timeoutMs: z.number(),
  state: z.enum(['queued', 'running', 'done']),
  verdict: z.enum(VERDICTS).nullable(),
  deviceId: z.string().nullable(),
  attempts: z.number().int(),
  infraAttempts: z.number().int(),
  durationMs: z.number().nullable(),
  signature: z.string().nullable(),
  message: z.string().nullable(),
  skipReason: z.string().nullable(),
  finishedAt: z.number().nullable(),
  attemptsDetail: z.array(attemptViewSchema),
  artifacts: z.array(
    z.object({
      id: z.string(),
      attempt: z.number().int(),
      name: z.string(),
      contentType: z.string(),
      size: z.number().int(),
      url: z.string(),
      state: z.enum(['stored', 'lost']),
      reason: z.string().nullable(),
    }),
  ),
  /** The JUnit cases of the job's last attempt (container tests). */
  cases: z.array(caseViewSchema),
  duplicates: z
    .array(duplicateExecutionSchema)
    .describe(
      'executions of an attempt beyond its stored one (a queue job handed out again after its lock was lost, e.g. in a Redis outage); not counted in the verdict',
    ),
  /** A failed or errored job: new (likely from this change), known, flaky on this device, or infrastructure. */
  triage: triageSchema
    .nullable()
    .describe(
      'failure triage from the history before this run on this device; null for a job that did not fail',
    ),
});
export type JobView = z.output<typeof jobViewSchema>;

export const runResultsSchema = z.object({ run: runViewSchema, jobs: z.array(jobViewSchema) });

export const deviceViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.enum(DRIVER_KINDS),
  model: z.string(),
  platform: z.string(),
  os: z.string(),
  firmware: z.string(),
  capabilities: z.object({
    codecs: z.array(z.string()),
    hdr: z.array(z.string()),
    drm: z.record(z.string(), z.string()),
    resolution: z.enum(RESOLUTIONS),
    memoryMb: z.number(),
    input: z.array(z.enum(INPUT_KINDS)),
  }),
  host: z.string(),
  tags: z.array(z.string()),
  settings: z.record(z.string(), z.unknown()).describe("the driver's settings, secrets masked as ***"),
  state: z.string(),
  /** Why the device is in that state (block reason, quarantine cause). */
  reason: z.string().optional(),
  /** The agent or worker holding the device's lease, when one does. */
  leaseHolder: z.string().optional(),
  /** Reserved for a person: by which partner and until when (epoch ms); every token sees it. */
  reservation: z.object({ partner: z.string(), until: z.number() }).optional(),
});

/** The answer to POST /api/runs/preview: the plan a run request would get, nothing created. */
export const planPreviewSchema = z.object({
  /** What the risk scores come from: `model`, or the failure record until the model is trusted. */
  ranker: z.string(),
  jobs: z.array(
    z.object({
      seq: z.number().int(),
      testId: z.string(),
      pool: z.string(),
      devices: z.array(z.string()),
      /** Failure probability (or failure-record score) the order is by; reasons most important first. */
      score: z.number(),
      reasons: z.array(z.string()),
      estDurationMs: z.number(),
      skipReason: z.string().nullable(),
    }),
  ),
  unplanned: z.array(unplannedSchema),
  budget: budgetSchema.nullable(),
  /** What `--confidence` did: the cut it learned from earlier runs, or null without `confidence`. */
  confidence: planConfidenceSchema.nullable(),
  droppedSuites: droppedSuitesSchema,
});
export type PlanPreview = z.infer<typeof planPreviewSchema>;

/** The failure-prediction report as data (`/api/report.json`). */
export const reportSchema = z.object({
  title: z.string(),
  generatedAt: z.string(),
  risk: z.array(
    z.object({ test: z.string(), device: z.string(), probability: z.number(), reasons: z.array(z.string()) }),
  ),
  rankedBy: z.string(),
  /** Flaky (test, device) pairs: retried after a failure, or flipped on the same build, on that device. */
  flaky: z.array(
    z.object({
      test: z.string(),
      device: z.string(),
      runs: z.number(),
      failures: z.number(),
      retried: z.number(),
      flips: z.number(),
      flakyRate: z.number(),
    }),
  ),
  evaluation: z
    .object({ summary: z.unknown(), perCycle: z.unknown(), calibration: z.unknown() })
    .optional()
    .describe('the online evaluation the report was built with, when it was'),
});

export const artifactSavedSchema = z.object({ id: z.string(), size: z.number().int() });

/**
 * Schemas that become components of the OpenAPI document (zod's global registry, which the type provider's
 * transform reads; request bodies get their input form). Registered again when the module is.
 */
const COMPONENTS: [z.ZodType, string][] = [
  [runRequestSchema, 'RunRequest'],
  [deviceActionSchema, 'DeviceAction'],
  [errorSchema, 'Error'],
  [runViewSchema, 'Run'],
  [submittedRunSchema, 'SubmittedRun'],
  [jobViewSchema, 'Job'],
  [runResultsSchema, 'RunResults'],
  [deviceViewSchema, 'Device'],
  [planPreviewSchema, 'PlanPreview'],
  [reportSchema, 'Report'],
];
for (const [schema, id] of COMPONENTS) z.globalRegistry.add(schema, { id });
