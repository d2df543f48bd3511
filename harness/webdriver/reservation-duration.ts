import { z } from 'zod';

/** `2h`, `30m`, `90s`, `1h30m`: hours, minutes and seconds, in that order, each at most once. */
const DURATION = /^(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$/;

/** The milliseconds of a duration like `30m`, `2h`, `1h30m` or `90s`; null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m || !(m[1] || m[2] || m[3])) return null;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** A duration as people write it back: `1h30m`, `2s`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts = [
    [Math.floor(s / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const;
  return parts.map(([n, unit]) => (n ? `${n}${unit}` : '')).join('') || '0s';
}

/**
 * The body of `POST /api/devices/:id/reservations`: how long (`for`, at most `maxMs`, the lab's
 * `webdriver.maxReservationMs`) and an optional note shown with the reservation. A bad duration is a 400
 * naming `for` with an example; one over the limit says the limit and the setting.
 */
export function reservationRequestSchema(maxMs: number) {
  return z
    .object({
      for: z
        .string()
        .max(32)
        .describe(`how long, e.g. 30m, 2h, 1h30m or 90s (at most ${formatDuration(maxMs)})`)
        .superRefine((text, ctx) => {
          const ms = parseDuration(text);
          if (ms === null || ms < 1000)
            ctx.addIssue({
              code: 'custom',
              message: `"${text}" is not a duration of at least 1 s: write it like 30m, 2h, 1h30m or 90s`,
            });
          else if (ms > maxMs)
            ctx.addIssue({
              code: 'custom',
              message: `${text} is longer than a reservation may last here, ${formatDuration(maxMs)} (webdriver.maxReservationMs)`,
            });
        }),
      note: z.string().max(200).optional().describe('shown with the reservation, e.g. what it is for'),
    })
    .strict();
}

export type ReservationRequest = z.infer<ReturnType<typeof reservationRequestSchema>>;
