import { z } from 'zod';

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
  status: z.enum(['queued', 'running', 'passed', 'failed', 'error', 'cancelled']),
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
