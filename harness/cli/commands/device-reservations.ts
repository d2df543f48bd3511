import type { Command } from 'commander';
import type { ReservationView } from '../../api/reservation-view.ts';
import { apiAction as act, type ServerOption } from '../api-action.ts';

const iso = (ms: number) => new Date(ms).toISOString();

function reservedText(r: ReservationView): string {
  const path = new URL(r.webdriverUrl).pathname;
  return (
    `reserved ${r.device} for ${r.partner} until ${iso(r.until)}: ${r.id}\n` +
    `WebDriver URL: ${r.webdriverUrl}\n` +
    `  WebdriverIO: remote({ hostname, port, path: '${path}', user: '${r.partner}', key: process.env.DEVLAB_TOKEN, capabilities })\n` +
    `  ends by itself at ${iso(r.until)}, or now with: devlab devices release ${r.id}\n`
  );
}

function listText(rows: ReservationView[]): string {
  if (rows.length === 0) return 'no reservations\n';
  return rows
    .map(
      (r) =>
        `${r.id}  ${r.device}  ${r.partner}  until ${iso(r.until)}${r.note ? `  "${r.note}"` : ''}\n  ${r.webdriverUrl}\n`,
    )
    .join('');
}

/**
 * `devlab devices reserve|reservations|release`: device reservations through the control plane's API
 * (`/api/devices/:id/reservations`, `/api/reservations`), as the partner of DEVLAB_TOKEN.
 */
export function registerReservationCommands(devices: Command): void {
  const withServer = (cmd: Command) =>
    cmd
      .option('--server <url>', 'control plane URL (default: DEVLAB_SERVER_URL, else the configured API)')
      .option('--json', 'print the answer as JSON');

  withServer(
    devices
      .command('reserve <device>')
      .description('reserve an Appium device for yourself; prints its WebDriver URL')
      .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1h30m (the lab sets the longest)')
      .option('--note <text>', 'shown with the reservation'),
  ).action((device: string, opts: ServerOption & { for: string; note?: string }) =>
    act(
      opts,
      (api) =>
        api.request<ReservationView>('POST', `/api/devices/${encodeURIComponent(device)}/reservations`, {
          for: opts.for,
          ...(opts.note ? { note: opts.note } : {}),
        }),
      reservedText,
    ),
  );

  withServer(
    devices
      .command('reservations')
      .description('reservations not over yet, with their WebDriver URLs (an admin token: every partner’s)'),
  ).action((opts: ServerOption) =>
    act(opts, (api) => api.request<ReservationView[]>('GET', '/api/reservations'), listText),
  );

  withServer(
    devices.command('release <reservationId>').description('end a reservation now; its session ends'),
  ).action((id: string, opts: ServerOption) =>
    act(
      opts,
      (api) => api.request<ReservationView>('DELETE', `/api/reservations/${encodeURIComponent(id)}`),
      (r) => `released ${r.id}: ${r.device} is free\n`,
    ),
  );
}
