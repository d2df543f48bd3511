import { getProgress, getTitle } from '../api.js';
import { formatTime, h } from '../dom.js';

export async function render({ route, navigate, back }) {
  const title = await getTitle(route.id);
  if (!title) {
    const el = h(
      'div',
      { testid: 'screen-title', role: 'alert' },
      h('p', { testid: 'title-missing' }, 'Title not found'),
    );
    return { el, grid: () => [] };
  }
  const position = await getProgress(title.id);
  const resume =
    position > 0
      ? h(
          'button',
          {
            testid: 'resume-button',
            'aria-label': `Resume ${title.name} from ${formatTime(position)}`,
            dataset: { position: String(position) },
            onclick: () => navigate(`#/player/${title.id}?start=${position}`),
          },
          `Resume from ${formatTime(position)}`,
        )
      : null;
  const play = h(
    'button',
    {
      testid: 'play-button',
      'aria-label': position > 0 ? `Start ${title.name} over` : `Play ${title.name}`,
      onclick: () => navigate(`#/player/${title.id}`),
    },
    position > 0 ? 'Start over' : 'Play',
  );
  const backButton = h(
    'button',
    { testid: 'back-button', 'aria-label': 'Back', onclick: () => back() },
    'Back',
  );
  const badges = [title.maxResolution === '2160p' ? '4K' : 'HD', ...title.hdr.map((f) => f.toUpperCase())];
  const el = h(
    'article',
    { class: 'details', testid: 'screen-title', dataset: { titleId: title.id } },
    h('h1', { testid: 'title-name' }, title.name),
    h(
      'p',
      { class: 'muted', testid: 'title-meta' },
      `${title.genre} · ${title.year} · ${badges.join(' · ')}`,
    ),
    h('p', { testid: 'title-description' }, title.description),
    h('div', { class: 'actions' }, resume, play, backButton),
  );
  return {
    el,
    grid: () => [[resume, play, backButton].filter(Boolean)],
    initialFocus: () => resume ?? play,
    state: () => ({ titleId: title.id, resumePosition: position }),
  };
}
