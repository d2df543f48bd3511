// The devices page's reservations: every token sees who has a device reserved and until when; a small
// button reserves a free Appium device for 30 minutes for the token's partner, or releases one of the
// token's own reservations (the API lists only those, with their WebDriver URLs).
// `ui` is app.js's toolkit: { api, h, badge, when, say, schedule, view }.

const RESERVE_FOR = '30m';

/**
 * The token's own reservations (an admin's: every one), by device; asked only when some device is
 * reserved (a lab that has none, or no reservations at all, is not asked).
 */
export async function ownReservations(ui, devices) {
  if (!devices.some((d) => d.reservation)) return new Map();
  const rows = await ui.api('/api/reservations');
  return new Map(rows.map((r) => [r.device, r]));
}

// Does `what`, redraws the page, then says how it went (the redraw says "updated" itself).
async function act(ui, what, refresh) {
  let message;
  let failed = false;
  try {
    message = await what();
  } catch (err) {
    message = err.message;
    failed = true;
  }
  await refresh();
  ui.say(message, failed);
}

/** The "Reserved" cell of a device: by whom and until when, and Reserve or Release. */
export function reservationCell(ui, device, own, refresh) {
  const { api, h, when } = ui;
  const mine = own.get(device.id);
  if (device.reservation) {
    const text = `${device.reservation.partner} until ${when(device.reservation.until)}`;
    if (!mine) return text;
    const release = () =>
      act(
        ui,
        async () => {
          await api(`/api/reservations/${encodeURIComponent(mine.id)}`, 'json', { method: 'DELETE' });
          return `released ${device.id}`;
        },
        refresh,
      );
    return h(
      'span',
      {},
      text,
      ' ',
      h('button', { type: 'button', class: 'small', onclick: release }, 'Release'),
      h('br'),
      h('span', { class: 'muted url' }, mine.webdriverUrl),
    );
  }
  if (device.driver !== 'appium' || device.leaseHolder) return '—';
  const reserve = () =>
    act(
      ui,
      async () => {
        const r = await api(`/api/devices/${encodeURIComponent(device.id)}/reservations`, 'json', {
          method: 'POST',
          body: { for: RESERVE_FOR },
        });
        return `reserved ${r.device} until ${when(r.until)}: WebDriver URL ${r.webdriverUrl}`;
      },
      refresh,
    );
  return h('button', { type: 'button', class: 'small', onclick: reserve }, `Reserve ${RESERVE_FOR}`);
}
