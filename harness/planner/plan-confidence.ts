import { z } from 'zod';

/** What `--confidence` did to a plan: where it cut and what it kept (kept with the run, shown in previews). */
export const planConfidenceSchema = z.object({
  confidence: z.number(),
  /** The predicted recall the selection was cut at; null when every job was kept (too few earlier failures). */
  cutAt: z.number().nullable(),
  /** Earlier failing jobs the cut was learned from; null for a ranker that keeps no history (uncalibrated). */
  calibratedOn: z.number().nullable(),
  selectedS: z.number(),
  skippedJobs: z.number(),
});

export type PlanConfidence = z.infer<typeof planConfidenceSchema>;
