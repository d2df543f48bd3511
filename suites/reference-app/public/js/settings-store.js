const KEY = 'devlab.settings';
export const DEFAULTS = Object.freeze({
  subtitleSize: 'medium',
  subtitleBackground: true,
  subtitleLanguage: 'off',
  audioLanguage: 'en',
});

export function loadSettings() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) ?? '{}') };
  } catch {
    return { ...DEFAULTS };
  }
}

export function saveSettings(patch) {
  const next = { ...loadSettings(), ...patch };
  localStorage.setItem(KEY, JSON.stringify(next));
  return next;
}

export function resetSettings() {
  localStorage.removeItem(KEY);
  return { ...DEFAULTS };
}
