import { detectDevice, measureCpuFactor } from './device.js';
import { FocusGrid } from './focus-grid.js';
import { isTextField, keyAction } from './keys.js';
import { parseRoute, parentRoute } from './routes.js';
import * as details from './screens/details.js';
import * as home from './screens/home.js';
import * as player from './screens/player.js';
import * as search from './screens/search.js';
import * as settings from './screens/settings.js';

const SCREENS = { home, search, title: details, player, settings };

const device = { ...detectDevice(), cpuFactor: measureCpuFactor() };
const body = document.body;
body.dataset.layout = device.layout;
body.dataset.model = device.model;
body.dataset.cpuFactor = String(device.cpuFactor);
document.getElementById('device-badge').textContent = `${device.model} · ${device.resolution}`;

const screenEl = document.getElementById('screen');
const navButtons = [...document.querySelectorAll('#nav button')];
const history = [];
let current = null;
let renderSeq = 0;

function navigate(hash) {
  history.push(location.hash || '#/home');
  location.hash = hash;
}

async function back() {
  if (current?.onBack && (await current.onBack())) return;
  const route = parseRoute(location.hash);
  const previous = history.pop() ?? parentRoute(route);
  if (previous && previous !== location.hash) location.replace(previous);
}

for (const button of navButtons) {
  button.addEventListener('click', () => navigate(button.dataset.route));
}

async function show() {
  const seq = ++renderSeq;
  const route = parseRoute(location.hash);
  current?.destroy?.();
  current = null;
  body.dataset.ready = 'false';
  body.dataset.route = route.name;
  const screen = await SCREENS[route.name].render({ device, route, navigate, back });
  if (seq !== renderSeq) {
    screen.destroy?.();
    return;
  }
  current = screen;
  screenEl.replaceChildren(screen.el);
  const first = screen.initialFocus?.() ?? screen.grid()[0]?.[0];
  first?.focus();
  body.dataset.ready = 'true';
}

function grid() {
  const rows = current?.grid() ?? [];
  return new FocusGrid(body.dataset.route === 'player' ? rows : [navButtons, ...rows]);
}

document.addEventListener('keydown', (event) => {
  const action = keyAction(event);
  if (!action || !current) return;
  if (current.onKey?.(action, event)) {
    event.preventDefault();
    return;
  }
  if (action === 'back') {
    event.preventDefault();
    back();
    return;
  }
  const focused = document.activeElement;
  if (action === 'enter') {
    if (focused && focused !== body && !isTextField(focused)) {
      event.preventDefault();
      focused.click();
    }
    return;
  }
  // Left/Right inside a text field move the caret, as users expect.
  if (isTextField(focused) && (action === 'left' || action === 'right')) return;
  event.preventDefault();
  grid().next(focused, action)?.focus();
});

window.addEventListener('hashchange', show);

// For test evidence: what the app believes about the device and where it is.
window.devlabApp = {
  device,
  state: () => ({ device, route: parseRoute(location.hash), screen: current?.state?.() ?? null }),
};

if (!location.hash) location.replace('#/home');
else show();
