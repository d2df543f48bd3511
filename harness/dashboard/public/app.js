// The devlab dashboard: plain DOM, no framework, no build. The token is pasted once and kept in
// localStorage; every API call sends it as a bearer token, artifacts included (fetched into blob URLs).
import { showHook, showHooks } from './hooks.js';
import { dataTable } from './table.js';
import { ownReservations, reservationCell } from './reservations.js';

const TOKEN_KEY = 'devlab.token';
const POLL_MS = 2000;
const FINAL = new Set(['passed', 'failed', 'error', 'cancelled']);

const view = document.getElementById('view');
const statusLine = document.getElementById('status');
let timer = null;
let viewerUrl = null;

function token() {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

function say(message, isError = false) {
  statusLine.textContent = message;
  statusLine.className = isError ? 'error' : '';
}

async function api(path, as = 'json', init = {}) {
  const headers = token() ? { authorization: `Bearer ${token()}` } : {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  const res = await fetch(path, { method: init.method ?? 'GET', headers, body });
  if (!res.ok) {
    let message = `HTTP ${res.status}`;
    try {
      message = (await res.json()).error ?? message;
    } catch {}
    if (res.status === 401) message = `${message} — paste a token above`;
    throw new Error(message);
  }
  if (as === 'blob') return res.blob();
  return res.json();
}

// Builds an element from a tag, attributes and children; text is always set as text, never as HTML.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

const badge = (s) => h('span', { class: `badge ${s}` }, s);
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');

function schedule(fn) {
  clearTimeout(timer);
  timer = setTimeout(fn, POLL_MS);
}

async function showRuns() {
  try {
    const runs = await api('/api/runs?limit=100');
    const rows = runs.map((r) =>
      h(
        'tr',
        { 'data-run': r.id },
        h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id)),
        h('td', {}, r.partner),
        h('td', {}, r.build),
        h('td', {}, r.priority),
        h('td', { 'data-status': r.status }, badge(r.status)),
        h(
          'td',
          {},
          Object.entries(r.counts)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || '—',
        ),
        h('td', {}, when(r.createdAt)),
      ),
    );
    view.replaceChildren(
      h('h2', {}, 'Runs'),
      runs.length
        ? dataTable(h, 'Runs', ['Run', 'Partner', 'Build', 'Priority', 'Status', 'Verdicts', 'Created'], rows)
        : h('p', { class: 'muted' }, 'No runs yet.'),
    );
    say(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    say(err.message, true);
  }
  schedule(showRuns);
}

async function openArtifact(artifact, target) {
  try {
    const blob = await api(artifact.url, 'blob');
    if (viewerUrl) URL.revokeObjectURL(viewerUrl);
    viewerUrl = URL.createObjectURL(blob);
    const type = artifact.contentType;
    const body = type.startsWith('image/')
      ? h('img', { src: viewerUrl, alt: `${artifact.name} (attempt ${artifact.attempt})` })
      : h('pre', { 'aria-label': `Contents of ${artifact.name}` }, await blob.text());
    target.replaceChildren(
      h('h4', {}, `${artifact.name} `, h('span', { class: 'muted' }, `${type}, ${artifact.size} bytes`)),
      body,
    );
  } catch (err) {
    say(err.message, true);
  }
}

// A failed job's triage: new (likely from this change), known, flaky on this device, or infrastructure.
function triageBlock(t) {
  const e = t.evidence;
  const at = (ref) => (ref?.at ? ` (${when(ref.at)})` : '');
  const lines = [
    `On this device before this run: ${e.failures} failure(s) in ${e.runs} run(s), ${e.recentFailures} in the last ${e.recentRuns}.`,
    e.lastRun ? `Last run ${e.lastRun.run}${at(e.lastRun)}: ${e.lastRun.verdict}.` : null,
    e.lastFailure ? `Last failure ${e.lastFailure.run}${at(e.lastFailure)}.` : null,
    e.flaky.retried + e.flaky.flipped > 0
      ? `Flaky events in its last ${e.flaky.window} runs: ${e.flaky.retried} passed on retry, ${e.flaky.flipped} same-build flip(s).`
      : null,
    e.baseBuild
      ? `Base build ${e.baseBuild.build}: ${e.baseBuild.runsOnDevice} run(s) on this device, ${e.baseBuild.failures} failure(s) of this test here.`
      : null,
  ].filter(Boolean);
  return h(
    'div',
    { class: `triage ${t.label}`, 'aria-label': 'Failure triage', 'data-triage': t.label },
    h('p', {}, h('strong', {}, `Triage: ${t.label}`), ` — ${t.summary}`),
    h(
      'ul',
      {},
      lines.map((l) => h('li', {}, l)),
    ),
  );
}

function showJob(job, panel) {
  const viewer = h('div', { class: 'viewer', 'aria-live': 'polite' });
  // A second execution of an attempt (a lost queue lock) is shown as such, with its own artifacts.
  const duplicates = job.duplicates ?? [];
  const duplicateFiles = new Set(duplicates.flatMap((d) => d.artifacts.map((f) => f.id)));
  const artifactButtons = (files, label) =>
    h(
      'ul',
      { 'aria-label': label },
      files.map((f) =>
        h(
          'li',
          {},
          h('button', { type: 'button', class: 'artifact', onclick: () => openArtifact(f, viewer) }, f.name),
        ),
      ),
    );
  const again = duplicates.map((d) => {
    const files = job.artifacts.filter((x) => d.artifacts.some((f) => f.id === x.id));
    return h(
      'li',
      { class: 'duplicate' },
      h('strong', {}, `Attempt ${d.attempt}, executed again`),
      ' ',
      badge(d.status),
      ` on ${d.deviceId ?? '?'} (${d.agent})`,
      h('p', {}, d.note),
      d.message ? h('pre', {}, d.message) : null,
      files.length
        ? artifactButtons(files, `Artifacts of the second execution of attempt ${d.attempt}`)
        : null,
    );
  });
  const attempts = job.attemptsDetail.map((a) => {
    const files = job.artifacts.filter((x) => x.attempt === a.attempt && !duplicateFiles.has(x.id));
    return h(
      'li',
      {},
      h('strong', {}, `Attempt ${a.attempt}`),
      ' ',
      badge(a.status),
      ` on ${a.deviceId ?? '?'} (${a.agent}), ${a.durationMs} ms`,
      a.message ? h('pre', {}, a.message) : null,
      files.length
        ? h(
            'ul',
            { 'aria-label': `Artifacts of attempt ${a.attempt}` },
            files.map((f) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', class: 'artifact', onclick: () => openArtifact(f, viewer) },
                  f.name,
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No artifacts.'),
    );
  });
  panel.replaceChildren(
    h('h3', {}, `${job.testId} on ${job.deviceId ?? job.pool}`),
    h(
      'p',
      {},
      'Verdict: ',
      badge(job.verdict ?? job.state),
      job.signature ? ` signature ${job.signature}` : '',
    ),
    job.triage ? triageBlock(job.triage) : '',
    job.skipReason ? h('p', {}, `Skipped: ${job.skipReason}`) : '',
    attempts.length
      ? h('ul', { class: 'attempts' }, attempts)
      : h('p', { class: 'muted' }, 'No attempts yet.'),
    again.length ? h('ul', { class: 'attempts', 'aria-label': 'Duplicate executions' }, again) : '',
    viewer,
  );
  panel.hidden = false;
  panel.focus();
}

// The tests no device of the run could run (the plan's `unplanned`), each with why.
function unrunnableList(unplanned) {
  if (unplanned.length === 0) return null;
  return h(
    'section',
    { class: 'unrunnable', 'aria-label': 'Tests no device can run' },
    h('h3', {}, `Not run: no device can run ${unplanned.length} test(s)`),
    h(
      'ul',
      {},
      unplanned.map((u) =>
        h('li', { 'data-unrunnable': u.testId }, h('code', {}, u.testId), `: ${u.reasons.join('; ')}`),
      ),
    ),
  );
}

async function showRun(id, openJob) {
  try {
    const { run, jobs } = await api(`/api/runs/${encodeURIComponent(id)}/results`);
    const tests = [...new Set(jobs.map((j) => j.testId))];
    const pools = [...new Set(jobs.map((j) => j.pool))];
    // A pool is named by the device that ran its jobs; else by model@firmware without the driver and hash.
    const poolLabel = (pool) =>
      jobs.find((j) => j.pool === pool && j.deviceId)?.deviceId ??
      pool.replace(/^[a-z]+:/, '').replace(/#.*$/, '');
    const byCell = new Map(jobs.map((j) => [`${j.testId}\u0000${j.pool}`, j]));
    const panel = h('section', { class: 'detail', 'aria-label': 'Attempts', tabindex: '-1', hidden: true });
    const cell = (test, pool) => {
      const job = byCell.get(`${test}\u0000${pool}`);
      if (!job) return h('td', { class: 'none' }, '—');
      const state = job.verdict ?? (job.state === 'done' ? 'pending' : job.state);
      return h(
        'td',
        { class: 'cell' },
        h(
          'button',
          {
            type: 'button',
            class: `cell ${state}`,
            'data-job': job.id,
            'data-triage': job.triage?.label,
            title: job.triage ? job.triage.summary : undefined,
            'aria-label': `${test} on ${pool}: ${state}`,
            onclick: () => {
              openJob.id = job.id;
              showJob(job, panel);
            },
          },
          state,
        ),
      );
    };
    view.replaceChildren(
      h('p', {}, h('a', { href: '#/runs' }, '← all runs')),
      h('h2', {}, `Run ${run.id} `, h('span', { 'data-run-status': run.status }, badge(run.status))),
      h(
        'p',
        {},
        `partner ${run.partner} · build ${run.build} · priority ${run.priority} · created ${when(run.createdAt)}`,
      ),
      jobs.length
        ? h(
            'table',
            { class: 'matrix', 'aria-label': 'Test by device matrix' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Test'),
                pools.map((p) => h('th', { scope: 'col', title: p }, poolLabel(p))),
              ),
            ),
            h(
              'tbody',
              {},
              tests.map((t) =>
                h(
                  'tr',
                  {},
                  h('th', { scope: 'row' }, t),
                  pools.map((p) => cell(t, p)),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'This run planned no jobs.'),
      unrunnableList(run.plan?.unplanned ?? []),
      panel,
    );
    const opened = jobs.find((j) => j.id === openJob.id);
    if (opened) showJob(opened, panel);
    say(`updated ${new Date().toLocaleTimeString()}`);
    // A finished run no longer changes; stop polling so an open artifact stays put.
    if (!FINAL.has(run.status)) schedule(() => showRun(id, openJob));
  } catch (err) {
    say(err.message, true);
    schedule(() => showRun(id, openJob));
  }
}

async function showDevices() {
  try {
    const devices = await api('/api/devices');
    const own = await ownReservations(ui, devices);
    view.replaceChildren(
      h('h2', {}, 'Devices'),
      h(
        'table',
        { 'aria-label': 'Devices' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            [
              'Device',
              'Driver',
              'Model',
              'Firmware',
              'Host',
              'State',
              'Lease holder',
              'Reserved',
              'Reason',
            ].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          devices.map((d) =>
            h(
              'tr',
              { 'data-device': d.id },
              h('td', {}, d.name, h('br'), h('span', { class: 'muted' }, d.id)),
              h('td', {}, d.driver),
              h('td', {}, d.model),
              h('td', {}, d.firmware),
              h('td', {}, d.host),
              h('td', {}, badge(d.state)),
              h('td', {}, d.leaseHolder ?? '—'),
              h('td', { class: 'reserved' }, reservationCell(ui, d, own, showDevices)),
              h('td', {}, d.reason ?? ''),
            ),
          ),
        ),
      ),
    );
    say(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    say(err.message, true);
  }
  schedule(showDevices);
}

/** What the pages of other modules (hooks.js) build with. */
const ui = { api, h, badge, when, say, schedule, view };

// The failure-prediction report, fetched with the token (a partner: its own runs; an admin: the lab's),
// shown in a frame from a blob: URL: a plain link would open it without the token.
async function showReport() {
  try {
    const blob = await api('/api/report', 'blob');
    if (viewerUrl) URL.revokeObjectURL(viewerUrl);
    viewerUrl = URL.createObjectURL(new Blob([blob], { type: 'text/html' }));
    view.replaceChildren(
      h('h2', {}, 'Failure prediction'),
      h('iframe', { class: 'report', title: 'Failure-prediction report', src: viewerUrl }),
    );
    say(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    say(err.message, true);
  }
}

function route() {
  clearTimeout(timer);
  const hash = location.hash || '#/runs';
  const run = /^#\/runs\/(.+)$/.exec(hash);
  const hook = /^#\/hooks\/(.+)$/.exec(hash);
  if (run) showRun(decodeURIComponent(run[1]), { id: null });
  else if (hook) showHook(ui, decodeURIComponent(hook[1]));
  else if (hash === '#/hooks') showHooks(ui);
  else if (hash === '#/devices') showDevices();
  else if (hash === '#/report') showReport();
  else showRuns();
}

document.getElementById('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('token');
  localStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = '';
  say('token saved');
  route();
});
document.getElementById('token-clear').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  say('token forgotten');
  route();
});
window.addEventListener('hashchange', route);
route();
