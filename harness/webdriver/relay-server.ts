import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactText } from '../../devices/redact.ts';
import { logConnectionErrors } from '../log/connection-errors.ts';
import { firstIssue } from '../protocol/zod-issue.ts';
import type { LabKeys } from '../queue/names.ts';
import {
  type RelayAgentRecord,
  type RelayOperation,
  type RelayReply,
  relayRequestSchema,
} from './relay-protocol.ts';

/** An operation the agent cannot take (unknown device or session): answered as `refused`. */
export class RelayRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayRefusal';
  }
}

/** Carries out one operation; throws `RelayRefusal`, or any other error for a device that failed. */
export type RelayHandler = (operation: RelayOperation) => Promise<unknown>;

export interface RelayServerOptions {
  agentId: string;
  /** The devices the agent relays for. */
  devices: readonly string[];
  handler: RelayHandler;
  log: Logger;
  /** The agent's record lives this long without renewal (default 3000 ms): a killed agent is gone after it. */
  ttlMs?: number;
  /** How often the record is renewed (default 1000 ms). */
  beatMs?: number;
}

/**
 * The agent's end of the WebDriver relay (relay-channel.ts is the control plane's): it keeps its record
 * (`LabKeys.relayAgent`: its devices, renewed every `beatMs`) while it lives, takes requests off its list
 * (`LabKeys.relayRequests`, a blocking pop on a connection of its own) and carries each out at once, in
 * parallel with the next ones, publishing the answer on the asking control plane's reply channel.
 */
export class RelayServer {
  private beat: NodeJS.Timeout | null = null;
  private blocking: Redis | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private lastBeatError: string | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: LabKeys,
    private readonly options: RelayServerOptions,
  ) {}

  async start(): Promise<this> {
    if (this.loop) return this;
    await this.announce();
    this.beat = setInterval(() => void this.announce(), this.options.beatMs ?? 1000);
    this.beat.unref();
    const blocking = this.redis.duplicate();
    logConnectionErrors(blocking, `agent ${this.options.agentId}: Redis (WebDriver relay requests)`, (line) =>
      this.options.log.warn(line),
    );
    this.blocking = blocking;
    this.loop = this.take(blocking);
    return this;
  }

  /** No more requests; the record is removed, so control planes see the agent gone at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    await this.redis
      .del(this.keys.relayAgent(this.options.agentId))
      .catch((err: unknown) =>
        this.options.log.warn(
          { err: (err as Error).message },
          'webdriver relay: the agent’s relay record was not removed (it expires by itself)',
        ),
      );
    this.blocking?.disconnect();
    this.blocking = null;
    await this.loop;
    this.loop = null;
  }

  private async announce(): Promise<void> {
    const record: RelayAgentRecord = {
      devices: [...this.options.devices],
      pid: process.pid,
      since: Date.now(),
    };
    try {
      await this.redis.set(
        this.keys.relayAgent(this.options.agentId),
        JSON.stringify(record),
        'PX',
        this.options.ttlMs ?? 3000,
      );
      if (this.lastBeatError !== null)
        this.options.log.info('webdriver relay: the agent’s relay record is renewed again');
      this.lastBeatError = null;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastBeatError)
        this.options.log.error(
          { err: message },
          'webdriver relay: the agent’s relay record was not renewed; control planes will see it gone',
        );
      this.lastBeatError = message;
    }
  }

  private async take(blocking: Redis): Promise<void> {
    const list = this.keys.relayRequests(this.options.agentId);
    while (!this.stopped) {
      let item: [string, string] | null;
      try {
        item = await blocking.brpop(list, 1);
      } catch (err) {
        if (this.stopped) return;
        this.options.log.error(
          { err: (err as Error).message },
          'webdriver relay: reading requests failed; trying again in 1 s',
        );
        await sleep(1000);
        continue;
      }
      if (item) this.serve(item[1]);
    }
  }

  private serve(text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      this.options.log.warn(
        { err: (err as Error).message },
        'webdriver relay: a request that is not JSON was dropped',
      );
      return;
    }
    const parsed = relayRequestSchema.safeParse(data);
    if (!parsed.success) {
      this.options.log.warn(
        { issue: firstIssue(parsed.error) },
        'webdriver relay: a malformed request was dropped (its caller ends at its timeout)',
      );
      return;
    }
    const request = parsed.data;
    if (request.expiresAt < Date.now()) {
      this.options.log.warn(
        { request: request.id, op: request.operation.op },
        'webdriver relay: a request nobody waits for any more was dropped',
      );
      return;
    }
    void this.options
      .handler(request.operation)
      .then(
        (result): RelayReply => ({ id: request.id, ok: true, result }),
        (err: unknown): RelayReply => ({
          id: request.id,
          ok: false,
          error: {
            kind: err instanceof RelayRefusal ? 'refused' : 'device lost',
            message: redactText((err as Error)?.message ?? String(err)),
          },
        }),
      )
      .then((reply) => this.redis.publish(request.replyTo, JSON.stringify(reply)))
      .catch((err: unknown) =>
        this.options.log.error(
          { err: (err as Error).message, request: request.id, op: request.operation.op },
          'webdriver relay: an answer was not sent (its caller ends at its timeout)',
        ),
      );
  }
}
