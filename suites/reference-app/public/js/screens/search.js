import { search } from '../api.js';
import { h } from '../dom.js';

const KEY_ROWS = ['abcdefghij', 'klmnopqrst', 'uvwxyz'];
const BASE_DEBOUNCE_MS = 250;
// Below this the device counts as healthy; a busy lab host alone can double the measured factor.
const SLOW_CPU_FACTOR = 3;

/**
 * Slow CPUs get a longer, jittered debounce so that typing does not re-render results on every key.
 * DEFECT D3 (DEFECTS.md): the stretch scales with the measured CPU factor and has a random spread, so on
 * throttled devices results sometimes arrive later than a user (or a test) waits for them.
 */
export function debounceMs(device) {
  if (device.cpuFactor < SLOW_CPU_FACTOR) return BASE_DEBOUNCE_MS;
  return Math.round(BASE_DEBOUNCE_MS + Math.random() * 400 * device.cpuFactor);
}

export async function render({ device, navigate }) {
  let timer = null;
  let seq = 0;
  let resultButtons = [];
  const input = h('input', {
    type: 'search',
    testid: 'search-input',
    'aria-label': 'Search titles',
    placeholder: 'Search titles',
    autocomplete: 'off',
    oninput: () => schedule(),
  });
  const status = h(
    'p',
    { testid: 'search-status', class: 'muted', role: 'status', dataset: { state: 'idle' } },
    '',
  );
  const results = h('div', {
    class: 'results',
    testid: 'search-results',
    role: 'list',
    dataset: { count: '0' },
  });

  function press(char) {
    if (char === 'del') input.value = input.value.slice(0, -1);
    else if (char === 'clear') input.value = '';
    else input.value += char === 'space' ? ' ' : char;
    schedule();
  }

  const keyButton = (char, label, cls) =>
    h(
      'button',
      { testid: `osk-key-${char}`, 'aria-label': label, class: cls, onclick: () => press(char) },
      label,
    );
  const keyRows = KEY_ROWS.map((row) => [...row].map((c) => keyButton(c, c)));
  keyRows[2].push(
    keyButton('space', 'space', 'wide'),
    keyButton('del', 'del', 'wide'),
    keyButton('clear', 'clear', 'wide'),
  );
  const osk = h(
    'div',
    { class: 'osk', testid: 'osk', role: 'group', 'aria-label': 'On-screen keyboard' },
    keyRows.flat(),
  );

  function schedule() {
    clearTimeout(timer);
    const query = input.value;
    if (!query.trim()) {
      seq++;
      setResults(query, []);
      status.dataset.state = 'idle';
      status.textContent = '';
      return;
    }
    status.dataset.state = 'pending';
    status.textContent = 'Searching…';
    const wait = debounceMs(device);
    status.dataset.debounceMs = String(wait);
    timer = setTimeout(() => run(query), wait);
  }

  async function run(query) {
    const mine = ++seq;
    const body = await search(query);
    if (mine !== seq) return;
    setResults(query, body.results);
    status.dataset.state = 'done';
    status.textContent = body.results.length ? `${body.results.length} results` : '';
  }

  function setResults(query, titles) {
    resultButtons = titles.map((t) =>
      h(
        'button',
        {
          class: 'tile',
          role: 'listitem',
          testid: `result-${t.id}`,
          'aria-label': `${t.name}, ${t.genre}, ${t.year}`,
          onclick: () => navigate(`#/title/${t.id}`),
        },
        t.name,
      ),
    );
    const empty =
      query.trim() && titles.length === 0
        ? h('p', { testid: 'search-empty' }, `No titles match "${query}"`)
        : null;
    results.replaceChildren(...resultButtons, ...(empty ? [empty] : []));
    results.dataset.count = String(titles.length);
    results.dataset.query = query;
  }

  const el = h('div', { testid: 'screen-search' }, h('h1', {}, 'Search'), input, osk, status, results);
  return {
    el,
    grid: () => [[input], ...keyRows, resultButtons],
    initialFocus: () => keyRows[0][0],
    destroy: () => clearTimeout(timer),
    state: () => ({ query: input.value, status: status.dataset.state, count: resultButtons.length }),
  };
}
