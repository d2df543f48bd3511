import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeviceRecord } from '../../devices/device.ts';
import { redactText } from '../../devices/redact.ts';
import { logConnectionErrors } from '../log/connection-errors.ts';
import { firstIssue } from '../protocol/zod-issue.ts';
import type { LabKeys } from '../queue/names.ts';
import {
  RELAY_RESULTS,
  type RelayOp,
  type RelayOperation,
  type RelayReply,
  type RelayResult,
  relayAgentSchema,
  relayReplySchema,
} from './relay-protocol.ts';
import { DeviceLostError } from './session-proxy.ts';

/**
 * The control plane's end of the WebDriver relay, on Redis: a request goes on the owning agent's list
 * (`LabKeys.relayRequests`) only while the agent's record (`LabKeys.relayAgent`, a key it renews every
 * second with a few seconds' TTL) says it lives, and its answer comes back on this control plane's own
 * pub/sub channel (`LabKeys.relayReplies`). While it waits, the agent's record is looked at every
 * `presenceEveryMs`: an agent killed mid-command is noticed within its record's TTL, not after the
 * command's timeout. Every failure of the path is a `DeviceLostError` saying what went wrong.
 */

/** Pushes the request only while the agent lives; the list expires with the request's deadline. */
const SEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

/** Redis's answer, or `late` when none came within `ms` (Redis away: the call's own deadline still holds). */
function within<T>(ms: number, answer: Promise<T>, late: T): Promise<T> {
  return Promise.race([answer, sleep(Math.max(0, ms), late, { ref: false })]);
}

type SendingRedis = Redis & {
  devlabRelaySend(agentKey: string, listKey: string, request: string, ttlMs: string): Promise<number>;
};

export interface RelayCallOptions {
  /** Nobody waits longer for the agent's answer. */
  timeoutMs: number;
  /** The client went away: the wait ends with the signal's reason (not a lost device). */
  signal?: AbortSignal;
}

export interface RelayClientOptions {
  /** How often a call in flight looks whether its agent still lives (default 1000 ms). */
  presenceEveryMs?: number;
}

export class RelayClient {
  readonly instance = randomUUID();
  private readonly redis: SendingRedis;
  private readonly pending = new Map<string, (reply: RelayReply) => void>();
  private readonly presenceEveryMs: number;
  private subscriber: Redis | null = null;

  constructor(
    redis: Redis,
    private readonly keys: LabKeys,
    private readonly log: Logger,
    options: RelayClientOptions = {},
  ) {
    if (!('devlabRelaySend' in redis)) redis.defineCommand('devlabRelaySend', { numberOfKeys: 2, lua: SEND });
    this.redis = redis as SendingRedis;
    this.presenceEveryMs = options.presenceEveryMs ?? 1000;
  }

  /** Subscribes to this control plane's reply channel (a connection of its own). */
  async start(): Promise<this> {
    if (this.subscriber) return this;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    logConnectionErrors(subscriber, 'control plane: Redis subscriber (WebDriver relay replies)', (line) =>
      this.log.warn(line),
    );
    subscriber.on('message', (_channel: string, text: string) => this.receive(text));
    await subscriber.subscribe(this.keys.relayReplies(this.instance));
    return this;
  }

  /** The agent relaying for `device` now (the device's host, if it lives and relays it), else null. */
  async agentFor(device: DeviceRecord): Promise<string | null> {
    const text = await this.redis.get(this.keys.relayAgent(device.host));
    if (text === null) return null;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
    const record = relayAgentSchema.safeParse(data);
    if (!record.success) {
      this.log.warn(
        { agent: device.host, device: device.id, key: this.keys.relayAgent(device.host) },
        'webdriver relay: the agent’s relay record is malformed; going to the device directly',
      );
      return null;
    }
    return record.data.devices.includes(device.id) ? device.host : null;
  }

  /** Sends one operation to `agentId` and waits for its answer (validated against the operation's schema). */
  async call<O extends RelayOp>(
    agentId: string,
    operation: Extract<RelayOperation, { op: O }>,
    options: RelayCallOptions,
  ): Promise<RelayResult<O>> {
    if (!this.subscriber) throw new Error('the WebDriver relay client is not started');
    const id = randomUUID();
    const request = {
      id,
      replyTo: this.keys.relayReplies(this.instance),
      expiresAt: Date.now() + options.timeoutMs,
      operation,
    };
    const op: RelayOperation = operation;
    const what = op.op === 'command' ? `${op.method} ${op.rest || '/'}` : op.op;
    const answered = new Promise<RelayReply>((resolve) => this.pending.set(id, resolve));
    try {
      const send = this.redis.devlabRelaySend(
        this.keys.relayAgent(agentId),
        this.keys.relayRequests(agentId),
        JSON.stringify(request),
        String(options.timeoutMs),
      );
      const sent = await within(options.timeoutMs, send, 0);
      if (sent === 0)
        throw new DeviceLostError(
          `Redis did not take ${what} for agent ${agentId} within ${options.timeoutMs} ms`,
        );
      if (sent === -1)
        throw new DeviceLostError(
          `agent ${agentId} is gone: it relays no WebDriver command any more (${what})`,
        );
      const reply = await this.wait(answered, agentId, what, options);
      if (!reply.ok) throw new DeviceLostError(`agent ${agentId}: ${reply.error.message}`);
      const result = RELAY_RESULTS[operation.op].safeParse(reply.result);
      if (!result.success)
        throw new DeviceLostError(
          `agent ${agentId} answered ${what} with a malformed result: ${firstIssue(result.error)}`,
        );
      return result.data as RelayResult<O>;
    } finally {
      this.pending.delete(id);
    }
  }

  /** Stops listening; calls still waiting end as lost (the control plane stops). */
  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = null;
    for (const [id, resolve] of this.pending)
      resolve({ id, ok: false, error: { kind: 'device lost', message: 'the control plane stopped' } });
    this.pending.clear();
    await subscriber?.quit().catch((err: unknown) =>
      // A connection that is already closed has nothing left to end.
      this.log.debug({ err: (err as Error).message }, 'webdriver relay: closing the reply subscriber'),
    );
  }

  private async wait(
    answered: Promise<RelayReply>,
    agentId: string,
    what: string,
    options: RelayCallOptions,
  ): Promise<RelayReply> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new DeviceLostError(
          `agent ${agentId} gave no answer to ${what} within ${options.timeoutMs} ms`,
        );
      const step = Math.min(left, this.presenceEveryMs);
      const reply = await Promise.race([
        answered,
        sleep(step, null, { ref: false, ...(options.signal ? { signal: options.signal } : {}) }),
      ]);
      if (reply) return reply;
      // No answer from Redis in time counts as alive: the deadline above ends the wait then.
      if ((await within(left, this.redis.exists(this.keys.relayAgent(agentId)), 1)) === 0)
        throw new DeviceLostError(`agent ${agentId} is gone (its relay record expired) during ${what}`);
    }
  }

  private receive(text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'webdriver relay: a reply that is not JSON was dropped');
      return;
    }
    const reply = relayReplySchema.safeParse(data);
    if (!reply.success) {
      this.log.warn(
        { issue: firstIssue(reply.error) },
        'webdriver relay: a malformed reply was dropped (its call ends at its timeout)',
      );
      return;
    }
    const resolve = this.pending.get(reply.data.id);
    if (!resolve) {
      this.log.debug({ request: reply.data.id }, 'webdriver relay: a reply came after its call ended');
      return;
    }
    resolve(reply.data);
  }
}

/** A relay failure's message as it may be logged and sent: URL credentials masked. */
export function relayErrorText(err: unknown): string {
  return redactText((err as Error)?.message ?? String(err));
}
