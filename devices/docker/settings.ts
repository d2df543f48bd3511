import { z } from 'zod';

export const dockerSettingsSchema = z
  .object({
    /** Engine socket path. */
    socket: z.string().min(1).default('/var/run/docker.sock'),
    image: z.string().min(1),
    /** Name of a local image spec to build the image from when the engine lacks it. */
    build: z.string().min(1).optional(),
    /** Pull from this registry when the image is missing and no build spec exists; never otherwise. */
    registry: z.string().min(1).optional(),
    memoryMb: z.number().int().min(6).default(256),
    cpus: z.number().positive().max(64).default(1),
    pidsLimit: z.number().int().positive().default(128),
    /** none by default; host only when the test needs loopback services. Never a bridge. */
    network: z.enum(['none', 'host']).default('none'),
    /** The device's own command (e.g. its conformance runner), for `runCommand`. */
    command: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** Folder in the container whose files are collected as artifacts after each run. */
    resultsPath: z.string().startsWith('/').default('/results'),
  })
  .strict();

export type DockerSettings = z.infer<typeof dockerSettingsSchema>;
