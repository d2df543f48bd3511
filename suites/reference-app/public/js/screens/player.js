import { getSubtitles, getTitle, saveProgress } from '../api.js';
import { formatTime, h } from '../dom.js';
import { isLowMemory, releasePlaybackSession } from '../player/memory-pressure.js';
import { decoderStartError, selectStream, toneMapping } from '../player/stream-select.js';
import { parserFor } from '../player/subtitle-parser.js';
import { loadSettings } from '../settings-store.js';

const STARTUP_MS = 300;
const TICK_MS = 250;
const LANGUAGE_NAMES = { en: 'English', es: 'Spanish', de: 'German' };

export async function render({ device, route, back }) {
  const title = await getTitle(route.id);
  const settings = loadSettings();
  const start = Math.max(0, Number(route.query.get('start') ?? 0) || 0);
  const session = { position: start, stream: null, cues: [], subtitleLang: 'off' };
  let state = 'loading';
  let timer = null;
  let lastTick = 0;
  let errorCode = null;

  const player = h('div', { class: 'player', testid: 'player', dataset: { state } });
  const surface = h('div', { class: 'surface', testid: 'player-surface' });
  const subtitleLine = h('div', {
    class: `subtitle size-${settings.subtitleSize}${settings.subtitleBackground ? ' bg' : ''}`,
    testid: 'subtitle-line',
    'aria-live': 'polite',
    dataset: { state: 'off', size: settings.subtitleSize },
  });
  const fill = h('div');
  const progress = h(
    'div',
    {
      class: 'progress',
      testid: 'progress-bar',
      role: 'slider',
      tabindex: '0',
      'aria-label': 'Playback position',
    },
    fill,
  );
  const time = h('span', { testid: 'player-time' }, '0:00');
  const playPause = h(
    'button',
    { testid: 'player-play-pause', 'aria-label': 'Pause', onclick: togglePause },
    'Pause',
  );
  const seekBack = h(
    'button',
    { testid: 'player-seek-back', 'aria-label': 'Back 10 seconds', onclick: () => seek(-10) },
    '-10s',
  );
  const seekFwd = h(
    'button',
    { testid: 'player-seek-forward', 'aria-label': 'Forward 30 seconds', onclick: () => seek(30) },
    '+30s',
  );
  const subtitleButtons = ['off', ...(title?.subtitles ?? [])].map((lang) =>
    h(
      'button',
      {
        testid: `player-subtitles-${lang}`,
        'aria-label': lang === 'off' ? 'Subtitles off' : `Subtitles ${LANGUAGE_NAMES[lang] ?? lang}`,
        'aria-pressed': 'false',
        dataset: { lang },
        onclick: () => chooseSubtitles(lang),
      },
      lang === 'off' ? 'CC off' : `CC ${lang.toUpperCase()}`,
    ),
  );
  const heading = h('h1', { testid: 'player-title' }, title?.name ?? 'Unknown title');
  const controls = h(
    'div',
    { class: 'controls', role: 'group', 'aria-label': 'Player controls' },
    heading,
    progress,
    time,
    h('div', { class: 'buttons' }, seekBack, playPause, seekFwd, ...subtitleButtons),
  );
  player.append(surface, subtitleLine, controls);
  const el = h('div', { testid: 'screen-player' }, player);
  let errorBack = null;

  function setState(next) {
    state = next;
    player.dataset.state = next;
  }

  function showError(err) {
    errorCode = err.code;
    stopTimer();
    setState('error');
    player.dataset.errorCode = err.code;
    errorBack = h(
      'button',
      { testid: 'player-error-back', 'aria-label': 'Back to title', onclick: () => back() },
      'Back',
    );
    const overlay = h(
      'div',
      { class: 'error', testid: 'player-error', role: 'alert', dataset: { errorCode: err.code } },
      h('h2', {}, 'Playback could not start'),
      h('p', { testid: 'player-error-message' }, err.message),
      h('p', { testid: 'player-error-code' }, err.code),
      errorBack,
    );
    player.append(overlay);
    errorBack.focus();
  }

  function render() {
    const duration = title?.durationSec ?? 1;
    const pos = Math.floor(session.position);
    player.dataset.position = String(pos);
    fill.style.width = `${Math.min(100, (session.position / duration) * 100)}%`;
    progress.setAttribute('aria-valuemin', '0');
    progress.setAttribute('aria-valuemax', String(duration));
    progress.setAttribute('aria-valuenow', String(pos));
    progress.setAttribute('aria-valuetext', `${formatTime(pos)} of ${formatTime(duration)}`);
    time.textContent = `${formatTime(pos)} / ${formatTime(duration)}`;
    if (session.subtitleLang !== 'off' && subtitleLine.dataset.state === 'ready') {
      const cue = session.cues.find((c) => session.position >= c.start && session.position < c.end);
      subtitleLine.replaceChildren(...(cue ? [h('span', { testid: 'subtitle-text' }, cue.text)] : []));
    }
  }

  function tick() {
    const now = performance.now();
    if (state === 'playing') {
      session.position = Math.min(title.durationSec, session.position + (now - lastTick) / 1000);
      if (session.position >= title.durationSec) {
        setState('ended');
        stopTimer();
      }
    }
    lastTick = now;
    render();
  }

  function stopTimer() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function togglePause() {
    if (state === 'playing') {
      setState('paused');
      playPause.textContent = 'Play';
      playPause.setAttribute('aria-label', 'Play');
    } else if (state === 'paused') {
      lastTick = performance.now();
      setState('playing');
      playPause.textContent = 'Pause';
      playPause.setAttribute('aria-label', 'Pause');
    }
  }

  function seek(delta) {
    if (state === 'error' || state === 'loading' || !title) return;
    session.position = Math.max(0, Math.min(title.durationSec - 1, session.position + delta));
    render();
  }

  async function chooseSubtitles(lang) {
    session.subtitleLang = lang;
    for (const b of subtitleButtons) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
    player.dataset.subtitles = lang;
    subtitleLine.replaceChildren();
    delete subtitleLine.dataset.error;
    if (lang === 'off') {
      subtitleLine.dataset.state = 'off';
      return;
    }
    subtitleLine.dataset.state = 'loading';
    const parser = parserFor(device);
    subtitleLine.dataset.renderer = parser.name;
    try {
      session.cues = parser.parse(await getSubtitles(title.id, lang));
      if (session.subtitleLang !== lang) return;
      subtitleLine.dataset.state = 'ready';
      subtitleLine.setAttribute('lang', lang);
    } catch (err) {
      if (session.subtitleLang !== lang) return;
      session.cues = [];
      subtitleLine.dataset.state = 'error';
      subtitleLine.dataset.error = String(err.message ?? err);
    }
    render();
  }

  function startPlayback() {
    if (!title) return showError({ code: 'PLAY-1004', message: 'Unknown title' });
    const choice = selectStream(title, device);
    if (choice.error) return showError(choice.error);
    session.stream = choice;
    Object.assign(player.dataset, { codec: choice.codec, resolution: choice.resolution, hdr: choice.hdr });
    const audio = title.audio.includes(settings.audioLanguage) ? settings.audioLanguage : title.audio[0];
    player.dataset.audioLang = audio;
    render();
    setTimeout(() => {
      if (state !== 'loading') return;
      const late = decoderStartError(choice, device);
      if (late) return showError(late);
      const tone = toneMapping(choice, device);
      surface.dataset.toneMap = tone;
      surface.classList.toggle('washed-out', tone === 'washed-out');
      lastTick = performance.now();
      setState('playing');
      timer = setInterval(tick, TICK_MS);
    }, STARTUP_MS);
    const lang = settings.subtitleLanguage;
    chooseSubtitles(title.subtitles.includes(lang) ? lang : 'off');
  }

  async function exit() {
    stopTimer();
    if (title && state !== 'error') {
      if (isLowMemory(device)) releasePlaybackSession(session);
      const pos = session.position;
      const nearEnd = pos >= title.durationSec - 10;
      // Positions under 5 s are not worth a resume prompt.
      await saveProgress(title.id, pos < 5 || nearEnd ? 0 : pos).catch(() => undefined);
    }
    setState('exited');
    return false;
  }

  startPlayback();

  return {
    el,
    grid: () =>
      errorBack ? [[errorBack]] : [[progress], [seekBack, playPause, seekFwd, ...subtitleButtons]],
    initialFocus: () => errorBack ?? playPause,
    onKey(action) {
      if (document.activeElement === progress && (action === 'left' || action === 'right')) {
        seek(action === 'left' ? -10 : 10);
        return true;
      }
      return false;
    },
    // Saves progress, then lets the router go back.
    onBack: exit,
    destroy: stopTimer,
    state: () => ({
      state,
      errorCode,
      position: session.position,
      stream: session.stream,
      subtitles: session.subtitleLang,
    }),
  };
}
