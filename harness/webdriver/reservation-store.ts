import type { ChainableCommander, Redis } from 'ioredis';
import { z } from 'zod';
import type { LabKeys } from '../queue/names.ts';

/** Runs a MULTI; a command of it that failed throws (ioredis answers each command's error apart). */
async function exec(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  const failed = results?.find(([err]) => err)?.[0];
  if (failed) throw failed;
}

/** A device held for one partner's person until `until` (epoch ms), through the device's lease. */
export const reservationSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  partner: z.string(),
  note: z.string().nullable(),
  createdAt: z.number(),
  until: z.number(),
  /** The lease holder it shows (`reservation/<partner>`: never the id, which names its WebDriver URL). */
  holder: z.string(),
  /** The fencing token of the device lease it holds. */
  leaseToken: z.number().int(),
});

export type Reservation = z.infer<typeof reservationSchema>;

/**
 * The lab's reservations in Redis, beside the device leases they hold: one JSON key per reservation that
 * expires when the reservation ends (Redis drops it with nobody running), and a sorted set of ids by end,
 * pruned on each read. Both survive a control plane's restart. A record that does not parse is reported to
 * `onBad` and left out.
 */
export class ReservationStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<LabKeys, 'reservation' | 'reservations'>,
    private readonly onBad: (id: string, why: string) => void,
  ) {}

  async save(reservation: Reservation): Promise<void> {
    const ttlMs = Math.max(1, reservation.until - Date.now());
    await exec(
      this.redis
        .multi()
        .set(this.keys.reservation(reservation.id), JSON.stringify(reservation), 'PX', ttlMs)
        .zadd(this.keys.reservations, reservation.until, reservation.id),
    );
  }

  async get(id: string): Promise<Reservation | null> {
    const text = await this.redis.get(this.keys.reservation(id));
    return text === null ? null : this.parse(id, text);
  }

  /** The reservations not over at `now`, soonest end first. */
  async active(now = Date.now()): Promise<Reservation[]> {
    await this.redis.zremrangebyscore(this.keys.reservations, '-inf', String(now));
    const ids = await this.redis.zrange(this.keys.reservations, '0', '-1');
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.keys.reservation(id)));
    const out: Reservation[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const text = texts[i];
      const parsed = text ? this.parse(id, text) : null;
      if (parsed && parsed.until > now) out.push(parsed);
      else gone.push(id);
    });
    if (gone.length) await this.redis.zrem(this.keys.reservations, ...gone);
    return out;
  }

  async remove(id: string): Promise<void> {
    await exec(this.redis.multi().del(this.keys.reservation(id)).zrem(this.keys.reservations, id));
  }

  private parse(id: string, text: string): Reservation | null {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.onBad(id, `not JSON: ${(err as Error).message}`);
      return null;
    }
    const parsed = reservationSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.onBad(id, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return null;
  }
}
