/** The soak's command-line options (see the header of test/bench/soak.ts) and the constants derived from them. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../../harness/config/project-root.ts';
import type { PriorityClass } from '../../../harness/protocol/run-request.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    agents: { type: 'string', default: '4' },
    'devices-per-agent': { type: 'string', default: '2' },
    restarts: { type: 'string' },
    seed: { type: 'string', default: '1' },
    signal: { type: 'string', default: 'mixed' },
    'per-run': { type: 'string', default: '1000' },
    'timeout-s': { type: 'string', default: '3600' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, '.devlab', 'bench', 'soak.json') },
  },
  strict: true,
});

function intArg(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`soak: --${name} must be an integer >= ${min} (got ${value})\n`);
    process.exit(2);
  }
  return n;
}

export const JOBS = intArg('jobs', args.jobs, 1);
export const AGENTS = intArg('agents', args.agents, 1);
export const DEVICES_PER_AGENT = intArg('devices-per-agent', args['devices-per-agent'], 1);
export const RESTARTS = intArg('restarts', args.restarts ?? String(Math.max(3, Math.round(JOBS / 500))), 0);
export const SEED = intArg('seed', args.seed, 0);
export const PER_RUN = intArg('per-run', args['per-run'], 1);
export const TIMEOUT_MS = intArg('timeout-s', args['timeout-s'], 10) * 1000;
export const OUT = path.resolve(args.out);
export const SIGNAL = args.signal ?? 'mixed';
if (!['mixed', 'SIGKILL', 'SIGTERM'].includes(SIGNAL)) {
  process.stderr.write(`soak: --signal is mixed, SIGKILL or SIGTERM (got ${SIGNAL})\n`);
  process.exit(2);
}
export const RUNS = Math.ceil(JOBS / PER_RUN);
export const LEASE_TTL_MS = 3000;
export const JOB_LOCK_MS = 5000;
/** How long processes of a killed agent may take to notice and exit before they count as left behind. */
export const ORPHAN_GRACE_MS = 15_000;
export const PARTNERS = ['soak-a', 'soak-b', 'soak-c'];
export const PRIORITIES: PriorityClass[] = ['nightly', 'release', 'ci-pr'];
