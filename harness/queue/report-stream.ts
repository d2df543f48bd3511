import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { MalformedMessageError } from '../errors.ts';
import { logConnectionErrors } from '../log/connection-errors.ts';
import { REPORT_AND_MARK, type ReportedMark } from './execution-marks.ts';
import type { LabKeys } from './names.ts';

/**
 * Attempt reports travel from agents to the control plane on a Redis stream read by one consumer group:
 * an agent's report is one XADD, and the control plane takes reports in batches (one read and one
 * acknowledgement per batch, however many devices reported). A report stays pending until the control
 * plane has stored it, so a control plane that dies mid-batch reads it again after its restart (it is
 * stored idempotently per job and attempt). Reports that can never be stored go to a dead-letter stream.
 */
const GROUP = 'control-plane';
const CONSUMER = 'control-plane';
const FIELD = 'report';

type MarkingRedis = Redis & {
  devlabReportAndMark(
    stream: string,
    jobKey: string,
    field: string,
    report: string,
    mark: string,
  ): Promise<string>;
};

/**
 * Sends one report (an agent's attempt report). With `mark`, the attempt's queue job (`mark.jobKey`) is
 * marked as reported in the same Lua call, so that a second delivery of the job after its lock expired is
 * not run again (see execution-marks.ts).
 */
export async function sendReport(
  redis: Redis,
  keys: LabKeys,
  message: unknown,
  mark?: { jobKey: string; value: ReportedMark },
): Promise<void> {
  if (!mark) {
    await redis.xadd(keys.reportStream, '*', FIELD, JSON.stringify(message));
    return;
  }
  const args = [
    keys.reportStream,
    mark.jobKey,
    FIELD,
    JSON.stringify(message),
    JSON.stringify(mark.value),
  ] as const;
  // The command is defined by `prepareReportConnection` before the connection's first command: defined
  // later, an auto-pipelined connection may already hold a pipeline without it. Else a plain EVAL.
  if ('devlabReportAndMark' in redis) await (redis as MarkingRedis).devlabReportAndMark(...args);
  else await redis.eval(REPORT_AND_MARK, 2, ...args);
}

/**
 * Defines the report command on an agent's connection; call it before the connection's first command
 * (ioredis gives its auto-pipelines the commands defined when each pipeline is made).
 */
export function prepareReportConnection(redis: Redis): void {
  if (!('devlabReportAndMark' in redis))
    redis.defineCommand('devlabReportAndMark', { numberOfKeys: 2, lua: REPORT_AND_MARK });
}

/** Reports sent and not yet stored, and reports given up on (malformed). */
export async function reportStreamCounts(
  redis: Redis,
  keys: LabKeys,
): Promise<{ waiting: number; dead: number }> {
  const [waiting, dead] = await Promise.all([
    redis.xlen(keys.reportStream),
    redis.xlen(keys.deadReportStream),
  ]);
  return { waiting, dead };
}

/**
 * How far the control plane is behind the agents: reports in the stream (sent and not yet stored: a stored
 * report is deleted), the ones of them read and not yet acknowledged (`pending`), and the dead letters.
 */
export async function reportStreamLag(
  redis: Redis,
  keys: LabKeys,
): Promise<{ length: number; pending: number; dead: number }> {
  const key = keys.reportStream;
  const [length, dead, pending] = await Promise.all([
    redis.xlen(key),
    redis.xlen(keys.deadReportStream),
    // [count, first id, last id, consumers]; NOGROUP before the control plane first started: none pending.
    redis.xpending(key, GROUP).then(
      (reply) => Number((reply as [number | string])[0] ?? 0),
      (err: Error) => {
        if (err.message.includes('NOGROUP')) return 0;
        throw err;
      },
    ),
  ]);
  return { length, pending, dead };
}

/** What a report says of itself, for a log line about it (it may be malformed: anything missing is left out). */
export function reportContext(data: unknown): string {
  if (typeof data !== 'object' || data === null) return 'report';
  const r = data as Record<string, unknown>;
  const parts = [
    ['run', r['runId']],
    ['job', r['jobId']],
    ['attempt', r['attempt']],
    ['device', r['deviceId']],
  ]
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([k, v]) => `${k} ${String(v).slice(0, 200)}`);
  return parts.length ? `report of ${parts.join(' ')}` : 'report';
}

type StreamEntry = [id: string, fields: string[]];
type ReadReply = [key: string, entries: StreamEntry[]][] | null;

export interface ReportConsumerOptions {
  /** Used for acknowledgements; a duplicate of it does the blocking reads. */
  connection: Redis;
  keys: LabKeys;
  /**
   * Stores one report; resolves once it is stored. A MalformedMessageError sends it to the dead-letter
   * stream; any other error leaves it pending, to be handed over again after `retryMs`.
   */
  handle(data: unknown): Promise<void>;
  /** Most reports taken per read (default 500). */
  batch?: number;
  /** How long a read waits for a report (default 1000 ms); also bounds how long stop() waits. */
  blockMs?: number;
  /** How long a report that failed to be stored waits before it is handed over again (default 1000 ms). */
  retryMs?: number;
  /**
   * After a batch, how long reports may gather before the next read (default 2 ms): a busy lab's reports
   * then come in batches of many, one read, one store commit and one acknowledgement each; a report
   * that arrives while the consumer waits on an empty stream is read at once.
   */
  gatherMs?: number;
  /** Where the consumer says what went wrong (a report not stored, Redis away); off by default. */
  log?: (line: string) => void;
}

/** The control plane's side of the report stream: reads, hands each report over, acknowledges. */
export class ReportConsumer {
  private reader: Redis | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  /** When reports left pending by a failure are handed over again (0: none are). */
  private retryAt = 0;

  /** The last read error logged: a Redis outage retried every 250 ms is one line, not one per retry. */
  private lastReadError: string | null = null;

  constructor(private readonly options: ReportConsumerOptions) {}

  private get log(): (line: string) => void {
    return this.options.log ?? (() => {});
  }

  /**
   * Resolves once every report already in the stream has been handed over (what a previous life read
   * but did not acknowledge first, then what was sent while no one read); reading goes on after that.
   */
  async start(): Promise<void> {
    await this.createGroup();
    this.stopping = false;
    this.reader = this.options.connection.duplicate();
    logConnectionErrors(this.reader, 'report stream reader: Redis', this.log);
    let caughtUp: () => void = () => {};
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    this.loop = this.run(caughtUp);
    await ready;
  }

  /** From the stream's start: reports sent before the group existed are read too. */
  private async createGroup(): Promise<void> {
    const { connection, keys } = this.options;
    try {
      await connection.xgroup('CREATE', keys.reportStream, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.reader?.disconnect();
    await this.loop;
    this.loop = null;
    this.reader = null;
  }

  /**
   * Pending reports first (`retryAt` = 1), then new ones without waiting until the stream is empty once
   * (`caughtUp`), then new ones as they come; pending ones again `retryMs` after a delivery failed.
   */
  private async run(caughtUp: () => void): Promise<void> {
    const { batch = 500, blockMs = 1000, retryMs = 1000, gatherMs = 2 } = this.options;
    const key = this.options.keys.reportStream;
    let catchingUp = true;
    const doneCatchingUp = () => {
      catchingUp = false;
      caughtUp();
    };
    this.retryAt = 1;
    while (!this.stopping) {
      try {
        if (this.retryAt && Date.now() >= this.retryAt) {
          this.retryAt = 0;
          await this.drainPending(key, batch, retryMs);
          continue;
        }
        const wait = this.retryAt ? Math.max(1, Math.min(blockMs, this.retryAt - Date.now())) : blockMs;
        const entries = await this.read(key, batch, '>', catchingUp ? undefined : wait);
        if (this.lastReadError !== null) {
          this.lastReadError = null;
          this.log('report stream: reading again');
        }
        if (entries.length && !(await this.deliver(key, entries))) this.retryAt ||= Date.now() + retryMs;
        if (!entries.length && catchingUp) doneCatchingUp();
        else if (entries.length && !catchingUp && gatherMs > 0) await sleep(gatherMs);
      } catch (err) {
        if (this.stopping) break;
        const message = (err as Error).message;
        if (message !== this.lastReadError) {
          this.lastReadError = message;
          this.log(`report stream: read failed, retrying (the reports wait in the stream): ${message}`);
        }
        // Redis away at start: start() resolves, the reports are handed over once it is back.
        if (catchingUp) doneCatchingUp();
        // The stream and its group were deleted under a running control plane (a flushed Redis): again.
        // A failure here is the read's next failure, logged above on the next turn (if it differs).
        if (String(message).includes('NOGROUP')) await this.createGroup().catch(() => {});
        // Redis away or restarting: the reports wait in the stream.
        await sleep(250);
        this.retryAt ||= Date.now() + retryMs;
      }
    }
    caughtUp();
  }

  /** Hands over again every report read earlier and never acknowledged, oldest first. */
  private async drainPending(key: string, batch: number, retryMs: number): Promise<void> {
    let after = '0';
    for (;;) {
      const entries = await this.read(key, batch, after);
      if (!entries.length || this.stopping) return;
      if (!(await this.deliver(key, entries))) this.retryAt ||= Date.now() + retryMs;
      after = entries[entries.length - 1]![0];
    }
  }

  /** Reads up to `batch` entries: new ones ('>', waiting up to `blockMs`) or this consumer's pending ones after an id. */
  private async read(key: string, batch: number, from: string, blockMs?: number): Promise<StreamEntry[]> {
    const reader = this.reader!;
    const reply = (
      blockMs === undefined
        ? await reader.xreadgroup('GROUP', GROUP, CONSUMER, 'COUNT', batch, 'STREAMS', key, from)
        : await reader.xreadgroup(
            'GROUP',
            GROUP,
            CONSUMER,
            'COUNT',
            batch,
            'BLOCK',
            blockMs,
            'STREAMS',
            key,
            from,
          )
    ) as ReadReply;
    return reply?.[0]?.[1] ?? [];
  }

  /** Hands a batch over at once (their store writes share one commit); true when all were taken. */
  private async deliver(key: string, entries: StreamEntry[]): Promise<boolean> {
    const outcomes = await Promise.all(
      entries.map(
        async ([id, fields]): Promise<{ id: string; done: boolean; dead?: string; failure?: string }> => {
          const text = fieldValue(fields, FIELD);
          let data: unknown;
          try {
            data = JSON.parse(text ?? '');
          } catch {
            const dead = `not JSON: ${String(text).slice(0, 200)}`;
            this.log(`report ${id} set aside as a dead letter: ${dead}`);
            return { id, done: true, dead };
          }
          try {
            await this.options.handle(data);
            return { id, done: true };
          } catch (err) {
            if (err instanceof MalformedMessageError) {
              this.log(`${reportContext(data)} set aside as a dead letter (${id}): ${err.message}`);
              return { id, done: true, dead: err.message };
            }
            // Left pending: handed over again after retryMs (a store write that failed, a busy database).
            return { id, done: false, failure: `${reportContext(data)}: ${(err as Error).message}` };
          }
        },
      ),
    );
    const failed = outcomes.filter((o) => o.failure);
    if (failed.length) {
      // One line per batch (a store that fails every write would otherwise log each report every second).
      this.log(
        `${failed.length} of ${entries.length} reports not stored, kept pending for a retry; first: ${failed[0]!.failure}`,
      );
    }
    const done = outcomes.filter((o) => o.done).map((o) => o.id);
    if (done.length) {
      // Acknowledged, then deleted: a crash between the two leaves a stored report in the stream (never
      // handed over again, as it is acknowledged), not a lost one.
      const tx = this.options.connection.pipeline();
      for (const o of outcomes) {
        if (!o.dead) continue;
        const fields = entries.find(([id]) => id === o.id)![1];
        tx.xadd(
          this.options.keys.deadReportStream,
          '*',
          FIELD,
          fieldValue(fields, FIELD) ?? '',
          'error',
          o.dead,
        );
      }
      tx.xack(key, GROUP, ...done).xdel(key, ...done);
      await tx.exec();
    }
    return done.length === entries.length;
  }
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
