import { z } from 'zod';
import { testMetaSchema } from '../define-test.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A container test as written in `*.manifest.yaml`: test metadata plus what to run and where results land. */
export const manifestSchema = testMetaSchema
  .extend({
    /**
     * The image the test's container starts instead of the device's own, e.g. a partner's test-runner
     * image; it must be on the device's engine already (never pulled or built). Absent: the device's
     * image (a conformance test of the device itself).
     */
    image: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/, 'an image reference like name:tag')
      .optional(),
    /** argv run inside the container; no shell unless the manifest asks for one. */
    command: z.array(z.string().min(1)).min(1),
    // YAML reads `DEBUG: 1` as a number; the process environment is text either way.
    env: z
      .record(
        z.string().regex(ENV_NAME, 'environment names are letters, digits and _'),
        z.union([z.string(), z.number(), z.boolean()]),
      )
      .transform((env) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])))
      .default({}),
    /** Absolute path of the JUnit XML file the command writes inside the container. */
    results: z.string().regex(/^\/\S*$/, 'an absolute path inside the container'),
  })
  .superRefine((manifest, ctx) => {
    const drivers = manifest.requires.drivers;
    if (drivers !== undefined && !drivers.includes('docker')) {
      ctx.addIssue({
        code: 'custom',
        path: ['requires', 'drivers'],
        message: 'a container manifest runs only on docker devices; include docker',
      });
    }
  });

export type Manifest = z.output<typeof manifestSchema>;
