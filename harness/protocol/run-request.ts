import { z } from 'zod';

/** Priority classes, highest first: a PR gate overtakes a release run, which overtakes a nightly. */
export const PRIORITY_CLASSES = ['ci-pr', 'release', 'nightly'] as const;
export const priorityClassSchema = z.enum(PRIORITY_CLASSES);
export type PriorityClass = z.infer<typeof priorityClassSchema>;

export const ORDERINGS = ['risk', 'fifo', 'duration'] as const;

export const runOptionsSchema = z
  .object({
    /** Overrides every test's own retry count for test failures. */
    retries: z.number().int().min(0).max(10).optional(),
    /** Upper bound on this run's jobs running at once (on top of the partner's cap). */
    maxParallel: z.number().int().min(1).max(10_000).optional(),
    /** Time budget in seconds of device time: tests are selected by risk per second until it is spent. */
    budgetS: z.number().positive().optional(),
    /**
     * Selection with stated confidence: the fewest device-seconds (risk per second first) whose predicted
     * recall of the failing pairs (the sum of their failure probabilities over all pairs') reaches this.
     */
    confidence: z.number().gt(0).lt(1).optional(),
    ordering: z.enum(ORDERINGS).default('risk'),
    /** Components the build changed (older form of `change.components`; both are read). */
    changedComponents: z.array(z.string().min(1)).default([]),
    /** Infrastructure retries on another device before the job is an error. */
    infraRetries: z.number().int().min(0).max(10).default(2),
  })
  .strict();

/**
 * The change under test: what the build changes against `baseBuild`. Changed paths are mapped to
 * components by the lab's config (`components: { player: ['src/player/**'] }`); components may also be
 * named directly. The ranking reads the components (a test's own component touched, and learned
 * associations between changed components and failures: analysis/features/change.ts).
 */
export const changeSchema = z
  .object({
    commit: z.string().min(1).max(200).optional(),
    changedPaths: z.array(z.string().min(1).max(1000)).max(20_000).optional(),
    components: z.array(z.string().min(1).max(200)).max(1000).optional(),
  })
  .strict();
export type RunChange = z.infer<typeof changeSchema>;

export const runRequestSchema = z
  .object({
    /** Test query in the devlab query language; empty selects every test. */
    query: z.string().max(4000).default(''),
    /** Device selector in the same language; empty selects every device. */
    select: z.string().max(4000).default(''),
    build: z.string().min(1).max(200).default('unknown'),
    /**
     * The build the change under test is based on (e.g. the main branch's): a failure that also failed on
     * it, on the same device, is triaged as known rather than new (harness/history/run-triage.ts).
     */
    baseBuild: z.string().min(1).max(200).optional(),
    /** The change under test (beside `baseBuild`); see `changeSchema`. */
    change: changeSchema.optional(),
    partner: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'partner ids are lower case letters, digits, _ and -')
      .default('default'),
    priority: priorityClassSchema.default('release'),
    options: runOptionsSchema.default({ ordering: 'risk', changedComponents: [], infraRetries: 2 }),
  })
  .strict();

export type RunRequest = z.infer<typeof runRequestSchema>;
export type RunRequestInput = z.input<typeof runRequestSchema>;
export type RunOptionsResolved = z.infer<typeof runOptionsSchema>;

/** The components a request says its change touched: `change.components` and `options.changedComponents`. */
export function requestComponents(request: Pick<RunRequest, 'change' | 'options'>): string[] {
  return [...new Set([...(request.change?.components ?? []), ...request.options.changedComponents])].sort();
}
