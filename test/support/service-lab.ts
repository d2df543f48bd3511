import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DevlabConfig, loadConfig } from '../../harness/config/config.ts';
import {
  type ControlPlaneService,
  type ControlPlaneServiceOptions,
  startControlPlaneService,
} from '../../harness/lab/control-plane-service.ts';
import { dropLabKeys, removeTestLab } from './redis-keys.ts';
import { REDIS_URL } from './services.ts';

/*
 * The lab fixture of the tests that need devlab's own composition (`devlab server`, `devlab agent`)
 * rather than lab-harness.ts's in-process doubles: a folder with the lab's files and the DEVLAB_*
 * environment its processes share, and the control plane started on it in this process. fault-lab.ts
 * adds agent processes to it, fuzz-api.ts drives its API with inject(), artifact-durability's lab runs
 * the server as a process on the same files.
 */

export interface LabFiles {
  /** The lab's folder: `home/` (DEVLAB_HOME) and `inventory.yaml`; suites the test writes go here too. */
  dir: string;
  home: string;
  inventory: string;
  /** Its own Redis key prefix (DEVLAB_REDIS_PREFIX): labs of concurrent test files never meet. */
  prefix: string;
  /** DEVLAB_* for every process of the lab: its home, the test Redis under its prefix, short leases. */
  env: Record<string, string>;
  /** Removes its Redis keys (after every process of the lab stopped). */
  dropKeys(): Promise<void>;
  /** Removes its Redis keys and its folder. */
  remove(): Promise<void>;
}

/**
 * Writes a lab's inventory under `dir` (a new temp folder by default) and sets its environment: leases
 * of 3 s and job locks of 4 s so that faults resolve quickly, warn-level logs; `env` overrides any of it
 * but the prefix.
 */
export function labFiles(o: {
  /** In the Redis prefix (`devlab-<name>-<pid>`) and the temp folder's name: letters, digits, `-`. */
  name: string;
  inventoryYaml: string;
  dir?: string;
  env?: Record<string, string>;
}): LabFiles {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), `devlab-${o.name}-`));
  const home = path.join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const inventory = path.join(dir, 'inventory.yaml');
  writeFileSync(inventory, o.inventoryYaml);
  const prefix = `devlab-${o.name}-${process.pid}`;
  const env: Record<string, string> = {
    DEVLAB_HOME: home,
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_LEASE_TTL_MS: '3000',
    DEVLAB_JOB_LOCK_MS: '4000',
    DEVLAB_LOG_LEVEL: 'warn',
    ...o.env,
    DEVLAB_REDIS_PREFIX: prefix,
  };
  return {
    dir,
    home,
    inventory,
    prefix,
    env,
    dropKeys: () => dropLabKeys(prefix),
    remove: () => removeTestLab(prefix, dir, true),
  };
}

/** A suite folder with one `*.test-def.ts` file (ESM), as `devlab` discovers them. */
export function writeSuite(dir: string, name: string, source: string): string {
  const suites = path.join(dir, 'suites');
  mkdirSync(suites, { recursive: true });
  writeFileSync(path.join(suites, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(suites, `${name}.test-def.ts`), source);
  return suites;
}

export interface ServiceLab {
  files: LabFiles;
  config: DevlabConfig;
  server: ControlPlaneService;
  /** Stops the control plane; the lab's keys and files stay until `files.remove()`. */
  close(): Promise<void>;
}

/** `devlab server` on the lab's files, in this process, on a free loopback port. */
export async function startServiceLab(
  files: LabFiles,
  options: Omit<ControlPlaneServiceOptions, 'inventoryFile' | 'port'> = {},
): Promise<ServiceLab> {
  const config = loadConfig({ env: { ...process.env, ...files.env } });
  const server = await startControlPlaneService(config, {
    port: 0,
    inventoryFile: files.inventory,
    ...options,
  });
  return { files, config, server, close: () => server.close() };
}
