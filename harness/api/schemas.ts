import { z } from 'zod';
import { RUN_STATUSES } from '../store/runs-repo.ts';

/** Body of the admin device actions: the reason lands in the device's transition log. */
export const deviceActionSchema = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

export const errorSchema = z.object({
  error: z.string(),
  field: z.string().optional(),
  detail: z.string().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
});

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
  counts: z.record(z.string(), z.number()),
  total: z.number(),
  /** In the answer to POST /api/runs only: absolute URL to poll. */
  statusUrl: z.string().optional(),
});

export const deviceViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.string(),
  model: z.string(),
  platform: z.string(),
  firmware: z.string(),
  host: z.string(),
  state: z.string(),
  reason: z.string().optional(),
  leaseHolder: z.string().optional(),
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
  unplanned: z.array(z.object({ testId: z.string(), reasons: z.array(z.string()) })),
  budget: z.object({ budgetS: z.number(), selectedS: z.number(), skippedJobs: z.number() }).nullable(),
});
export type PlanPreview = z.infer<typeof planPreviewSchema>;
