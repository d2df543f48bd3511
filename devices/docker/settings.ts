import { z } from 'zod';

export const dockerSettingsSchema = z
  .object({
    /** Engine socket path; default: the driver's (the lab's `dockerSocket`, DEVLAB_DOCKER_SOCKET). */
    socket: z.string().min(1).optional(),
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
    /**
     * Folder in the container whose files are collected as artifacts after each run: a tmpfs owned by
     * `user` (the root file system is read-only).
     */
    resultsPath: z
      .string()
      .regex(/^\/.*[^/]$/, 'an absolute folder path below /, e.g. /results')
      .default('/results'),
    /**
     * The numeric `uid:gid` the container's processes (its command and every exec) run as; never root.
     * Numeric, so it needs no user database in the image. Default: nobody/nogroup.
     */
    user: z
      .string()
      .regex(/^\d+:\d+$/, 'a numeric uid:gid, e.g. 65534:65534')
      .refine((u) => u.split(':').every((id) => Number(id) !== 0), 'must not be root (uid or gid 0)')
      .default('65534:65534'),
    /** Size of each of the container's writable folders (`/tmp` and `resultsPath`, both tmpfs), in MiB. */
    scratchMb: z.number().int().min(1).max(4096).default(64),
  })
  .strict();

export type DockerSettings = z.infer<typeof dockerSettingsSchema>;
