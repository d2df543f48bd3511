/**
 * The other process of the throughput benchmark, as deployed: a lab agent (or a raw BullMQ worker)
 * on its own Node.js process. Started by harness.bench.ts with one JSON argument; prints `ready`,
 * stops on SIGTERM.
 */
import { Worker } from 'bullmq';
import { Agent } from '../../harness/agent/agent.ts';
import { HttpArtifactSink } from '../../harness/agent/artifact-sink.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { labKeys } from '../../harness/queue/names.ts';
import { instantRegistry, noopInventory, noopTests } from './noop-lab.ts';

export type NoopProcessSpec =
  | { kind: 'raw'; redisUrl: string; queue: string; concurrency: number }
  | {
      kind: 'agent';
      redisUrl: string;
      prefix: string;
      apiUrl: string;
      devices: number;
      tests: number;
      host: string;
    };

const spec = JSON.parse(process.argv[2] ?? '{}') as NoopProcessSpec;
const connection = redisConnection(spec.redisUrl);
let stop: () => Promise<void>;
if (spec.kind === 'raw') {
  const worker = new Worker(spec.queue, async () => {}, { connection, concurrency: spec.concurrency });
  await worker.waitUntilReady();
  stop = () => worker.close();
} else {
  const tests = noopTests(spec.tests);
  const agent = new Agent({
    agentId: spec.host,
    inventory: noopInventory(spec.devices, spec.host),
    tests: new Map(tests.map((t) => [t.id, t])),
    registry: instantRegistry(),
    artifacts: new HttpArtifactSink(spec.apiUrl, 'agent-secret'),
    appUrl: 'http://127.0.0.1:9/',
    connection,
    keys: labKeys(spec.prefix),
    maxSessions: spec.devices,
    leaseTtlMs: 5000,
    lockDurationMs: 10_000,
  });
  await agent.start();
  stop = () => agent.stop();
}
process.once('SIGTERM', () => {
  if (process.env['BENCH_CPU']) {
    const u = process.cpuUsage();
    process.stderr.write(`child cpu ms: ${Math.round((u.user + u.system) / 1000)}\n`);
  }
  void stop().finally(() => {
    connection.disconnect();
    process.exit(0);
  });
});
process.stdout.write('ready\n');
