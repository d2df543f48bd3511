import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../devices/appium/free-port.ts';
import { verifySignature } from '../../harness/hooks/signature.ts';
import { redisConnection } from '../../harness/queue/connection.ts';
import { storePath } from '../../harness/store/database.ts';
import { Store } from '../../harness/store/store.ts';
import { type DevlabProcess, spawnDevlab } from '../support/agent-process.ts';
import { finishRun, hooksEnv, type Receiver, startReceiver, until } from '../support/hooks-lab.ts';
import { createApiTokens } from '../support/leak-scan.ts';
import { removeTestLab } from '../support/redis-keys.ts';
import { REDIS_URL, redisUp, requireService } from '../support/services.ts';
import { call } from './authed-api.ts';

interface DeliveryAnswer {
  id: string;
  state: string;
  attempts: number;
  nextAttemptAt: number | null;
  log: { attempt: number; statusCode: number | null; error: string | null }[];
}

/**
 * A control plane killed with SIGKILL while a delivery waits for its next retry: no close, no goodbye to
 * Redis. The control plane runs as `devlab server` in a child process; a new one on the same store and
 * Redis prefix delivers the event once more, with the same delivery id and a signature that verifies.
 */
describe('a webhook delivery survives kill -9 of the control plane mid-retry', async () => {
  const up = await requireService('Redis', redisUp);
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-hooks-crash-'));
  const prefix = `devlab-hooks-crash-${process.pid}`;
  const env = {
    ...hooksEnv(home, prefix),
    DEVLAB_AGENT_TOKEN: 'agent-secret-hooks-crash',
    // A retry waits 3 s: the delivery sits in Redis's delayed set, not mid-attempt, when the kill comes.
    DEVLAB_HOOKS_BACKOFF_MS: '3000',
    DEVLAB_HOOKS_MAX_BACKOFF_MS: '3000',
    DEVLAB_HOOKS_ATTEMPTS: '100',
  };
  const redis = redisConnection(REDIS_URL);
  let healed = false;
  let receiver: Receiver;
  let tokens: { acme: string; admin: string };
  let store: Store | undefined;
  const children: DevlabProcess[] = [];

  /** `devlab server` in its own process; resolves once it listens, with its URL. */
  const startServer = async (): Promise<string> => {
    const port = await freePort();
    await spawnDevlab('server', ['--port', String(port)], env, {
      ready: 'devlab server listening on',
      track: (p) => children.push(p),
    });
    return `http://127.0.0.1:${port}`;
  };

  beforeAll(async () => {
    if (!up) return;
    receiver = await startReceiver(() => ({ status: healed ? 200 : 500 }));
    tokens = createApiTokens(home);
  }, 60_000);
  afterAll(async () => {
    for (const child of children) await child.stop();
    store?.close();
    await receiver?.close();
    redis.disconnect();
    await removeTestLab(prefix, home, up);
  });

  it.skipIf(!up)(
    'a new control plane on the same store and Redis delivers the event once more, same id, valid signature',
    async () => {
      let url = await startServer();
      const first = children[0]!;
      const added = await call(`${url}/api/hooks`, tokens.acme, {
        method: 'POST',
        body: { url: `${receiver.url}/crash`, events: ['run.finished'] },
      });
      expect(added.status).toBe(201);
      const hook = (await added.json()) as { id: string; secret: string };
      const deliveries = async (): Promise<DeliveryAnswer[]> => {
        const res = await call(`${url}/api/hooks/${hook.id}/deliveries`, tokens.acme);
        expect(res.status).toBe(200);
        return (await res.json()) as DeliveryAnswer[];
      };

      // The control plane's store, read from here as it writes it (SQLite in WAL mode).
      store = Store.open(storePath(home));
      const runId = await finishRun({ server: { url, store }, redis, prefix }, tokens.acme, 'b-crash', {
        agent: 'hooks-crash-test',
        device: 'crash-device',
        fails: () => false,
        message: '',
      });

      // A failed attempt, and the delivery waiting in Redis for its next retry (the log says when).
      let waiting: DeliveryAnswer | undefined;
      await until('a retry to wait', async () => {
        [waiting] = await deliveries();
        return waiting?.state === 'pending' && waiting.log.length >= 1 && waiting.nextAttemptAt !== null;
      });
      if (!waiting) throw new Error('no delivery');
      expect(waiting.log.every((a) => a.statusCode === 500)).toBe(true);
      expect(waiting.nextAttemptAt).toBeGreaterThan(0);

      first.kill9();
      await until(
        'the control plane to die',
        () => first.child.exitCode !== null || first.child.signalCode !== null,
      );
      expect(first.child.signalCode).toBe('SIGKILL');
      const before = receiver.got('/crash').length;
      const id = receiver.got('/crash')[0]!.headers['x-devlab-delivery'] as string;
      expect(id).toBe(waiting.id);
      // The retry is still in the lab's Redis: waiting for its time, or due.
      const delayed = await redis.zscore(`${prefix}:hooks:delayed`, id);
      const due = await redis.lrange(`${prefix}:hooks:wait`, 0, -1);
      expect(delayed !== null || due.includes(id)).toBe(true);

      healed = true;
      url = await startServer();
      await until(
        'the delivery after the restart',
        async () => (await deliveries())[0]?.state === 'delivered',
        60_000,
      );
      // Delivered, and nothing of it left in the queue: no further attempt can come.
      expect(await redis.zscore(`${prefix}:hooks:delayed`, id)).toBeNull();
      expect(await redis.lrange(`${prefix}:hooks:wait`, 0, -1)).not.toContain(id);
      const got = receiver.got('/crash');
      expect(got).toHaveLength(before + 1);
      const last = got.at(-1)!;
      expect(last.headers['x-devlab-delivery']).toBe(id);
      expect(last.body).toBe(got[0]!.body);
      expect(verifySignature(hook.secret, last.body, last.headers['x-devlab-signature-256'] as string)).toBe(
        true,
      );
      expect((JSON.parse(last.body) as { run: { id: string } }).run.id).toBe(runId);
      const [delivered] = await deliveries();
      expect(delivered!.nextAttemptAt).toBeNull();
      expect(delivered!.log.at(-1)).toMatchObject({ statusCode: 200, error: null });
      expect(delivered!.log.filter((a) => a.statusCode === 200)).toHaveLength(1);
    },
    180_000,
  );
});
