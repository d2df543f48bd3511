import { h } from '../dom.js';
import { loadSettings, resetSettings, saveSettings } from '../settings-store.js';

const GROUPS = [
  { key: 'subtitleSize', id: 'subtitle-size', label: 'Subtitle size', choices: ['small', 'medium', 'large'] },
  { key: 'subtitleBackground', id: 'subtitle-bg', label: 'Subtitle background', choices: [true, false] },
  {
    key: 'subtitleLanguage',
    id: 'subtitle-lang',
    label: 'Subtitle language',
    choices: ['off', 'en', 'es', 'de'],
  },
  { key: 'audioLanguage', id: 'audio-lang', label: 'Audio language', choices: ['en', 'es', 'de'] },
];

const label = (v) => (v === true ? 'on' : v === false ? 'off' : v);

export async function render() {
  let settings = loadSettings();
  const rows = [];
  const sections = GROUPS.map((group) => {
    const buttons = group.choices.map((choice) =>
      h(
        'button',
        {
          testid: `${group.id}-${label(choice)}`,
          'aria-label': `${group.label}: ${label(choice)}`,
          dataset: { choice: label(choice) },
          onclick: () => {
            settings = saveSettings({ [group.key]: choice });
            sync();
          },
        },
        label(choice),
      ),
    );
    rows.push(buttons);
    return h(
      'section',
      { role: 'group', 'aria-labelledby': `${group.id}-label`, testid: `setting-${group.id}` },
      h('h2', { id: `${group.id}-label` }, group.label),
      h('div', { class: 'choices' }, buttons),
    );
  });
  const reset = h(
    'button',
    {
      testid: 'settings-reset',
      'aria-label': 'Reset settings to defaults',
      onclick: () => {
        settings = resetSettings();
        sync();
      },
    },
    'Reset to defaults',
  );
  rows.push([reset]);

  function sync() {
    GROUPS.forEach((group, i) => {
      for (const b of rows[i])
        b.setAttribute('aria-pressed', String(b.dataset.choice === label(settings[group.key])));
    });
  }
  sync();

  const el = h(
    'div',
    { class: 'settings', testid: 'screen-settings' },
    h('h1', {}, 'Settings'),
    sections,
    reset,
  );
  return { el, grid: () => rows, state: () => ({ settings }) };
}
