import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  parseDuration,
  reservationRequestSchema,
} from '../../harness/webdriver/reservation-duration.ts';

describe('reservation durations', () => {
  it('reads hours, minutes and seconds as people write them', () => {
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('2h')).toBe(2 * 3_600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration(' 2s ')).toBe(2000);
    for (const bad of ['', '30', 'm', '30x', '2 h', '1m1h', '-5m', '1.5h', '30m30m'])
      expect([bad, parseDuration(bad)]).toEqual([bad, null]);
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(2000)).toBe('2s');
  });

  it('refuses a bad duration, one over the lab’s limit and unknown fields, each saying what to write', () => {
    const schema = reservationRequestSchema(2 * 3_600_000);
    expect(schema.parse({ for: '2h', note: 'triage' })).toEqual({ for: '2h', note: 'triage' });
    const issue = (body: unknown) => schema.safeParse(body).error?.issues[0];
    expect(issue({ for: '45x' })).toMatchObject({
      path: ['for'],
      message: '"45x" is not a duration of at least 1 s: write it like 30m, 2h, 1h30m or 90s',
    });
    expect(issue({ for: '0s' })?.path).toEqual(['for']);
    expect(issue({ for: '3h' })).toMatchObject({
      path: ['for'],
      message: '3h is longer than a reservation may last here, 2h (webdriver.maxReservationMs)',
    });
    expect(issue({})?.path).toEqual(['for']);
    expect(issue({ for: '1m', note: 'x'.repeat(201) })?.path).toEqual(['note']);
    expect(issue({ for: '1m', device: 'tv' })?.code).toBe('unrecognized_keys');
  });
});
