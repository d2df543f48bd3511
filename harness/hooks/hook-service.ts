import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NotFoundError } from '../errors.ts';
import type { LabKeys } from '../queue/names.ts';
import type { EventBus } from '../server/event-bus.ts';
import {
  type DeliveryAttemptRow,
  type DeliveryRow,
  type HookRow,
  HooksRepo,
  type SigningHook,
} from '../store/hooks-repo.ts';
import type { Store } from '../store/store.ts';
import { HookDelivery } from './hook-delivery.ts';
import { HookEvents } from './hook-events.ts';
import type { HookSettings } from './hook-sender.ts';
import { HookSubscriptions, type NewHook, visible } from './hook-subscriptions.ts';

/** How long a delivery log waits for Redis to say when retries are due. */
const NEXT_RETRY_WAIT_MS = 2000;

export type { HookSettings } from './hook-sender.ts';
export type { NewHook } from './hook-subscriptions.ts';

export interface HookServiceDeps {
  store: Store;
  /** BullMQ connection (maxRetriesPerRequest: null). */
  redis: Redis;
  keys: LabKeys;
  settings: HookSettings;
  logger: Logger;
  /** The control plane's URL as receivers reach it (links in a delivery). */
  baseUrl: () => string;
  /**
   * The tests a hook's query selects, its history fields read from `historyPartner`'s results (the hook's
   * partner; ALL_PARTNERS for an admin's hook). Throws the query's error when it does not parse.
   */
  selectTests?: (query: string, historyPartner: string) => readonly { id: string }[];
  now?: () => number;
}

export interface DeliveryView extends DeliveryRow {
  log: DeliveryAttemptRow[];
  /** When a delivery waiting for a retry is tried next (epoch ms); null when it is not waiting. */
  nextAttemptAt: number | null;
}

/**
 * Signed outbound webhooks, composed of: the subscriptions (hook-subscriptions.ts), the deliveries the
 * control plane's events make (hook-events.ts), and their sending with retries and the delivery log
 * (hook-delivery.ts, one attempt in hook-sender.ts). Every call takes the caller's scope: a partner, or
 * null for an admin.
 */
export class HookService {
  readonly repo: HooksRepo;
  private readonly subscriptions: HookSubscriptions;
  private readonly events: HookEvents;
  private readonly sending: HookDelivery;
  private unsubscribe: (() => void) | null = null;
  private closed = false;

  constructor(private readonly deps: HookServiceDeps) {
    this.repo = new HooksRepo(deps.store.db, deps.now);
    const { store, settings, logger, selectTests } = deps;
    const repo = this.repo;
    this.subscriptions = new HookSubscriptions({ repo, settings, logger, selectTests });
    this.sending = new HookDelivery({ store, repo, redis: deps.redis, keys: deps.keys, settings, logger });
    this.events = new HookEvents({
      store,
      repo,
      logger,
      baseUrl: deps.baseUrl,
      selectTests,
      enqueue: (id) => this.sending.enqueue(id),
    });
  }

  /** Hears the control plane's events; call before it starts (its recovery may finish runs). */
  follow(events: EventBus): void {
    this.unsubscribe?.();
    this.unsubscribe = events.subscribe((event) => this.events.onEvent(event));
  }

  /** Starts sending, and queues again the deliveries a previous life recorded but may not have queued. */
  start(): Promise<void> {
    return this.sending.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.sending.close();
  }

  // --- subscriptions (API and CLI) ---

  add(scope: string | null, input: NewHook): SigningHook {
    return this.subscriptions.add(scope, input);
  }

  list(scope: string | null): HookRow[] {
    return this.subscriptions.list(scope);
  }

  hook(scope: string | null, id: string): HookRow {
    return this.subscriptions.hook(scope, id);
  }

  remove(scope: string | null, id: string): void {
    this.subscriptions.remove(scope, id);
  }

  // --- the delivery log ---

  /** A hook's deliveries, newest first, each with its attempts and when it is tried next. */
  async deliveries(scope: string | null, hookId: string, limit = 100): Promise<DeliveryView[]> {
    this.hook(scope, hookId);
    const rows = this.repo.deliveries(hookId, limit);
    const next = await this.nextRetries(rows);
    return rows.map((d) => ({ ...d, log: this.repo.attempts(d.id), nextAttemptAt: next.get(d.id) ?? null }));
  }

  async delivery(scope: string | null, id: string): Promise<DeliveryView> {
    const d = this.repo.delivery(id);
    const hook = d && this.repo.get(d.hookId);
    if (!d || !hook || !visible(scope, hook)) throw new NotFoundError('delivery', id);
    const next = await this.nextRetries([d]);
    return { ...d, log: this.repo.attempts(d.id), nextAttemptAt: next.get(d.id) ?? null };
  }

  /** Sends a delivery again now (same body, same delivery id), with a fresh retry schedule. */
  async redeliver(scope: string | null, id: string): Promise<DeliveryView> {
    const d = await this.delivery(scope, id);
    this.hook(scope, d.hookId);
    await this.sending.redeliver(id);
    this.deps.logger.info({ delivery: id, hook: d.hookId }, 'hook redelivery queued');
    return this.delivery(scope, id);
  }

  /** The next retry of the pending ones; without Redis the log is still shown, without next retries. */
  private async nextRetries(rows: readonly DeliveryRow[]): Promise<Map<string, number>> {
    const pending = rows.filter((d) => d.state === 'pending').map((d) => d.id);
    let timer: NodeJS.Timeout | undefined;
    // Redis commands wait while it is away: the log is answered without next retries rather than late.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${NEXT_RETRY_WAIT_MS} ms`)),
        NEXT_RETRY_WAIT_MS,
      );
    });
    try {
      return await Promise.race([this.sending.nextRetries(pending), late]);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'next hook retries not read (Redis)');
      return new Map();
    } finally {
      clearTimeout(timer);
    }
  }
}
