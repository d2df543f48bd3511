// Removing everything the soak created (agents and what they started, Redis keys or its own redis-server,
// mounts over its artifacts folder, the temp dir), at the end, on failure and on Ctrl-C.
import { rmSync } from 'node:fs';
import { mountsUnder, unmountAll } from '../../support/mounts.ts';
import { dropPrefix } from '../../support/redis-keys.ts';
import type { AgentProc } from './agent-proc.ts';
import { retired, slots } from './agents.ts';
import { dir, prefix, privateRedis, redis, state } from './lab.ts';
import { ORPHAN_GRACE_MS } from './options.ts';
import { sleep } from './sleep.ts';

let cleanedUp = false;
export async function cleanup(): Promise<{
  leftover: string[];
  stops: { host: string; ms: number; forced: boolean }[];
}> {
  if (cleanedUp) return { leftover: [], stops: [] };
  cleanedUp = true;
  state.stopping = true;
  const live = slots.filter((a): a is AgentProc => a !== null);
  const stops = await Promise.all(
    live.map(async (a) => ({ host: a.host, ...(await a.stop(state.interrupted ? 5000 : 20_000)) })),
  );
  const all = [...new Set([...retired, ...live, ...slots.filter((a): a is AgentProc => a !== null)])];
  const deadline = Date.now() + (state.interrupted ? 2000 : ORPHAN_GRACE_MS);
  while (all.some((a) => a.leftovers().length > 0) && Date.now() < deadline) await sleep(250);
  // Anything an agent started that outlived it (a browser in its own process group): by pid, after a look.
  const leftover: string[] = [];
  for (const agent of all) {
    for (const p of agent.leftovers()) {
      leftover.push(`${p.comm}[${p.pid}] of ${agent.host}#${agent.generation}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  const server = state.server;
  state.server = null;
  if (server)
    await Promise.race([
      server.close(),
      sleep(30_000).then(() => {
        throw new Error('not closed within 30 s (is its Redis gone?)');
      }),
    ]).catch((err: unknown) =>
      process.stderr.write(`soak: the control plane did not close cleanly: ${String(err)}\n`),
    );
  // A Ctrl-C during an artifacts outage: its mount goes before the temp dir.
  try {
    if (mountsUnder(dir).length > 0) unmountAll(dir);
  } catch (err) {
    process.stderr.write(`soak: could not unmount what is mounted under ${dir}: ${(err as Error).message}\n`);
  }
  if (privateRedis) {
    redis.disconnect();
    await privateRedis.stop();
  } else {
    try {
      await dropPrefix(redis, prefix);
    } catch (err) {
      process.stderr.write(`soak: could not remove the Redis keys of ${prefix}: ${(err as Error).message}\n`);
    }
    redis.disconnect();
  }
  rmSync(dir, { recursive: true, force: true });
  return { leftover, stops };
}

// Ctrl-C: clean up, then exit. The signal usually arrives twice (from the terminal and relayed by tsx),
// so the second is ignored; a third one exits at once. A parent gone meanwhile must not crash the
// cleanup with EPIPE on our output.
export function cleanUpOnSignals(): void {
  let signals = 0;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (++signals >= 3) process.exit(130);
      if (state.interrupted) return;
      state.interrupted = true;
      process.stderr.write(`\nsoak: ${signal}: stopping agents and removing what the soak created...\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}
