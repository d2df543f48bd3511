import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { IdempotencyConflictError } from '../errors.ts';
import type { Plan } from '../planner/planner.ts';
import { type RunRequestInput, runRequestSchema } from '../protocol/run-request.ts';
import type { RunRow } from '../store/runs-repo.ts';
import type { Store } from '../store/store.ts';
import { storedPlan } from './stored-plan.ts';

/** A new run and the plan it was made from. */
export interface SubmitResult {
  run: RunRow;
  plan: Plan;
}

/** A submit's answer; `replayed` when it is the run an earlier submit with the same key created. */
export type SubmittedRun = SubmitResult & { replayed?: true };

/**
 * The hash of a run request after validation (defaults filled in), so `{}` and the same request with
 * every default spelled out are one request. A stored request is validated again first: a default
 * added later applies to old runs too.
 */
export function requestHash(input: unknown): string {
  const parsed = runRequestSchema.safeParse(input);
  return (
    createHash('sha256')
      // Object keys sorted at every level: equal requests give equal text.
      .update(stringify(parsed.success ? parsed.data : input) ?? 'null')
      .digest('hex')
  );
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

interface InFlight {
  hash: string;
  result: Promise<SubmitResult>;
}

/**
 * Submits with a client idempotency key create at most one run per (partner, key). A repeat answers the
 * stored run; a twin arriving while the first is still being planned waits for it and answers the same
 * run (in this process: a map of keys in flight); across control planes on one store, the unique index
 * on (partner, idempotency_key) refuses the second insert and the loser answers the winner's run. The
 * same key with a different request is an IdempotencyConflictError. Keys do not expire.
 */
export class IdempotentSubmits {
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly store: () => Store) {}

  async submit(
    input: RunRequestInput,
    key: string,
    create: () => Promise<SubmitResult>,
  ): Promise<SubmittedRun> {
    const parsed = runRequestSchema.safeParse(input);
    // An invalid request creates nothing, keyed or not: the submit path reports it (a 400 naming the field).
    if (!parsed.success) return create();
    const hash = requestHash(parsed.data);
    const slot = `${parsed.data.partner}\u0000${key}`;
    const pending = this.inFlight.get(slot);
    if (pending) {
      if (pending.hash !== hash) throw new IdempotencyConflictError(key, null);
      return { ...(await pending.result), replayed: true };
    }
    const existing = this.store().runs.byIdempotencyKey(parsed.data.partner, key);
    if (existing) return this.replay(existing, hash, key);
    const entry: InFlight = {
      hash,
      result: create().catch((err: unknown) => {
        const winner = isUniqueViolation(err)
          ? this.store().runs.byIdempotencyKey(parsed.data.partner, key)
          : undefined;
        if (!winner) throw err;
        return this.replay(winner, hash, key);
      }),
    };
    this.inFlight.set(slot, entry);
    try {
      return await entry.result;
    } finally {
      this.inFlight.delete(slot);
    }
  }

  private replay(run: RunRow, hash: string, key: string): SubmittedRun {
    if (requestHash(run.request) !== hash) throw new IdempotencyConflictError(key, run.id);
    return { run, plan: storedPlan(this.store(), run), replayed: true };
  }
}
