import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { connectProbe } from '../queue/redis-probe.ts';
import type { DevlabConfig } from '../config/config.ts';

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(200);
  }
  return false;
}

/** True when Redis at `url` answers PING; never throws. */
export async function redisReachable(url: string): Promise<boolean> {
  // A yes/no probe: "not reachable" is the answer the caller reports (with how to start Redis).
  let redis: Redis | undefined;
  try {
    redis = await connectProbe(url, 10_000);
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis?.disconnect();
  }
}

/** True when the Docker engine on `socket` answers a ping; never throws. */
export async function dockerReachable(socket: string): Promise<boolean> {
  try {
    await new Docker({ socketPath: socket, timeout: 2000 }).ping();
    return true;
  } catch {
    return false;
  }
}

/** Redis and the Docker engine, started here only when they are not running; `stop()` ends what it started. */
export class LocalServices {
  private readonly started: { name: string; child: ChildProcess }[] = [];

  constructor(
    private readonly config: DevlabConfig,
    private readonly log: (line: string) => void,
  ) {}

  async ensure(): Promise<void> {
    if (!(await redisReachable(this.config.redisUrl))) {
      const url = new URL(this.config.redisUrl);
      if (!['127.0.0.1', 'localhost'].includes(url.hostname))
        throw new Error(`Redis at ${this.config.redisUrl} is not reachable`);
      const dir = `${this.config.home}/redis`;
      mkdirSync(dir, { recursive: true });
      this.log(`starting Redis on 127.0.0.1:${url.port || 6379} (AOF on)`);
      const child = spawn(
        'redis-server',
        ['--bind', '127.0.0.1', '--port', url.port || '6379', '--appendonly', 'yes', '--dir', dir],
        {
          stdio: 'ignore',
        },
      );
      this.started.push({ name: 'Redis', child });
      if (!(await until(() => redisReachable(this.config.redisUrl), 10_000)))
        throw new Error('Redis did not start');
    }
    if (!(await dockerReachable(this.config.dockerSocket))) {
      this.log('starting the Docker engine (dockerd --bridge=none --iptables=false)');
      const child = spawn('dockerd', ['--bridge=none', '--iptables=false'], { stdio: 'ignore' });
      this.started.push({ name: 'Docker engine', child });
      if (!(await until(() => dockerReachable(this.config.dockerSocket), 30_000)))
        throw new Error('the Docker engine did not start');
    }
  }

  async stop(): Promise<void> {
    for (const { name, child } of this.started.reverse()) {
      if (child.exitCode !== null) continue;
      this.log(`stopping ${name}`);
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }
    this.started.length = 0;
  }
}
