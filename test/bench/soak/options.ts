/** The soak's command-line options (see the header of test/bench/soak.ts) and the constants derived from them. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../../harness/config/project-root.ts';
import type { PriorityClass } from '../../../harness/protocol/run-request.ts';
import { canMount } from '../../support/mounts.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '5000' },
    agents: { type: 'string', default: '4' },
    'devices-per-agent': { type: 'string', default: '2' },
    restarts: { type: 'string' },
    seed: { type: 'string', default: '1' },
    signal: { type: 'string', default: 'mixed' },
    faults: { type: 'string' },
    outages: { type: 'string' },
    'outage-s': { type: 'string', default: '10' },
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
export const SEED = intArg('seed', args.seed, 0);
export const PER_RUN = intArg('per-run', args['per-run'], 1);
export const TIMEOUT_MS = intArg('timeout-s', args['timeout-s'], 10) * 1000;
export const OUT = path.resolve(args.out);
export const SIGNAL = args.signal ?? 'mixed';
if (!['mixed', 'SIGKILL', 'SIGTERM'].includes(SIGNAL)) {
  process.stderr.write(`soak: --signal is mixed, SIGKILL or SIGTERM (got ${SIGNAL})\n`);
  process.exit(2);
}
/** What the soak's schedule does to the lab (see FAULT_KINDS); `--faults none` runs it undisturbed. */
export const FAULT_KINDS = ['agents', 'control-plane', 'redis', 'artifacts'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
const faultList = (args.faults ?? FAULT_KINDS.join(','))
  .split(',')
  .map((f) => f.trim())
  .filter((f) => f && f !== 'none');
const unknownFaults = faultList.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
if (unknownFaults.length) {
  process.stderr.write(
    `soak: --faults: unknown ${unknownFaults.join(', ')} (a comma-separated list of ${FAULT_KINDS.join(', ')}, or none)\n`,
  );
  process.exit(2);
}
export const FAULTS = new Set(faultList as FaultKind[]);
// A read-only or full artifact folder is a mount over it: root with CAP_SYS_ADMIN only. Asked for, that is
// required; by default the soak goes on without that fault and says so.
if (FAULTS.has('artifacts') && !canMount()) {
  if (args.faults !== undefined) {
    process.stderr.write(
      'soak: --faults artifacts needs to mount (root with CAP_SYS_ADMIN); this process cannot\n',
    );
    process.exit(2);
  }
  process.stderr.write('soak: no read-only/full artifact folder in this soak: this process cannot mount\n');
  FAULTS.delete('artifacts');
}
/** Agent restarts (SIGKILL/SIGTERM at seeded points); none without the `agents` fault. */
export const RESTARTS = FAULTS.has('agents')
  ? intArg('restarts', args.restarts ?? String(Math.max(3, Math.round(JOBS / 500))), 0)
  : 0;
/** Outages of each kind other than agent restarts (control plane, Redis, artifact folder). */
export const OUTAGES = intArg('outages', args.outages ?? String(Math.max(1, Math.round(JOBS / 2500))), 0);
/** The longest outage; each lasts between half of it and all of it (seeded). */
export const OUTAGE_MS = intArg('outage-s', args['outage-s'], 1) * 1000;
export const RUNS = Math.ceil(JOBS / PER_RUN);
export const LEASE_TTL_MS = 3000;
export const JOB_LOCK_MS = 5000;
/** How long processes of a killed agent may take to notice and exit before they count as left behind. */
export const ORPHAN_GRACE_MS = 15_000;
export const PARTNERS = ['soak-a', 'soak-b', 'soak-c'];
export const PRIORITIES: PriorityClass[] = ['nightly', 'release', 'ci-pr'];
