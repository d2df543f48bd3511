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
    ordering: z.enum(ORDERINGS).default('risk'),
    /** Components the build changed; tests of these components are ranked up. */
    changedComponents: z.array(z.string().min(1)).default([]),
    /** Infrastructure retries on another device before the job is an error. */
    infraRetries: z.number().int().min(0).max(10).default(2),
  })
  .strict();

export const runRequestSchema = z
  .object({
    /** Test query in the devlab query language; empty selects every test. */
    query: z.string().max(4000).default(''),
    /** Device selector in the same language; empty selects every device. */
    select: z.string().max(4000).default(''),
    build: z.string().min(1).max(200).default('unknown'),
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
