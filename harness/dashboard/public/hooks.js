// The dashboard's webhook pages: a partner's hooks (an admin's token: every hook) and each hook's delivery
// log, with redelivery by hand. What a token may see is the API's answer: another partner's hook is a 404.
// `ui` is app.js's toolkit: { api, h, badge, when, say, schedule, view }.

import { dataTable } from './table.js';

const shortEvents = (events) => events.join(', ');

function target(hook) {
  if (hook.target === 'github') return `github ${hook.githubRepo} (${hook.githubContext})`;
  if (hook.target === 'spinnaker') return `spinnaker ${hook.spinnakerSource}`;
  return 'generic';
}

export async function showHooks(ui) {
  const { api, h, say, schedule, view, when } = ui;
  try {
    const hooks = await api('/api/hooks');
    view.replaceChildren(
      h('h2', {}, 'Hooks'),
      hooks.length
        ? dataTable(
            h,
            'Hooks',
            ['Hook', 'Partner', 'Target', 'Events', 'URL', 'Query', 'Created'],
            hooks.map((k) =>
              h(
                'tr',
                { 'data-hook': k.id },
                h('td', {}, h('a', { href: `#/hooks/${encodeURIComponent(k.id)}` }, k.id)),
                h('td', {}, k.partner ?? 'all partners'),
                h('td', {}, target(k), k.onlyPassed ? ' (passed runs only)' : ''),
                h('td', {}, shortEvents(k.events)),
                h('td', { class: 'url' }, k.url),
                h('td', {}, k.query ?? '—'),
                h('td', {}, when(k.createdAt)),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No hooks. Add one with `devlab hooks add` or POST /api/hooks.'),
    );
    say(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    say(err.message, true);
  }
  schedule(() => showHooks(ui));
}

async function redeliver(ui, id, refresh) {
  try {
    await ui.api(`/api/hooks/deliveries/${encodeURIComponent(id)}/redeliver`, 'json', { method: 'POST' });
    await refresh();
    // Said after the refresh, and kept until the log changes.
    ui.say(`redelivery of ${id} queued`);
  } catch (err) {
    ui.say(err.message, true);
  }
}

function deliveryRow(ui, d, refresh) {
  const { h, badge, when } = ui;
  const codes = d.log.map((a) => (a.statusCode === null ? '—' : String(a.statusCode)));
  const last = d.log.at(-1);
  return h(
    'tr',
    { 'data-delivery': d.id, 'data-state': d.state },
    h('td', {}, d.event),
    h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(d.runId)}` }, d.runId)),
    h('td', {}, badge(d.state)),
    h('td', { 'data-attempts': d.attempts }, String(d.attempts)),
    h(
      'td',
      { 'data-status-codes': codes.join(' ') },
      codes.join(' → ') || '—',
      last?.error ? h('br') : null,
      last?.error ? h('span', { class: 'muted' }, last.error) : null,
    ),
    h('td', { 'data-next-retry': d.nextAttemptAt ?? '' }, d.nextAttemptAt ? when(d.nextAttemptAt) : '—'),
    h('td', {}, h('code', {}, d.id)),
    h(
      'td',
      {},
      h(
        'button',
        {
          type: 'button',
          'aria-label': `Redeliver ${d.id}`,
          onclick: () => redeliver(ui, d.id, refresh),
        },
        'Redeliver',
      ),
    ),
  );
}

/** One hook and its delivery log; re-rendered only when the log changed, so a button stays put. */
export async function showHook(ui, id, seen = { key: null }) {
  const { api, h, say, schedule, view } = ui;
  const refresh = () => showHook(ui, id, seen);
  try {
    const path = `/api/hooks/${encodeURIComponent(id)}`;
    const [hook, deliveries] = await Promise.all([api(path), api(`${path}/deliveries?limit=100`)]);
    const key = JSON.stringify([hook, deliveries]);
    if (key !== seen.key) {
      seen.key = key;
      view.replaceChildren(
        h('p', {}, h('a', { href: '#/hooks' }, '← all hooks')),
        h('h2', {}, `Hook ${hook.id}`),
        h(
          'p',
          {},
          `${hook.partner ?? 'all partners'} · ${target(hook)} · ${shortEvents(hook.events)} · ${hook.url}`,
        ),
        deliveries.length
          ? dataTable(
              h,
              'Delivery log',
              ['Event', 'Run', 'State', 'Attempts', 'Status codes', 'Next retry', 'Idempotency key', ''],
              deliveries.map((d) => deliveryRow(ui, d, refresh)),
            )
          : h('p', { class: 'muted' }, 'No deliveries yet.'),
      );
      say(`updated ${new Date().toLocaleTimeString()}`);
    }
  } catch (err) {
    seen.key = null;
    view.replaceChildren(h('p', {}, h('a', { href: '#/hooks' }, '← all hooks')));
    say(err.message, true);
  }
  schedule(refresh);
}
