async function getJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

let catalog = null;

export async function loadCatalog() {
  catalog ??= await getJson('/api/titles');
  return catalog;
}

export async function getTitle(id) {
  const { titles } = await loadCatalog();
  return titles.find((t) => t.id === id) ?? null;
}

export function search(query) {
  return getJson(`/api/search?q=${encodeURIComponent(query)}`);
}

export async function getProgress(titleId) {
  const body = await getJson(`/api/progress?titleId=${encodeURIComponent(titleId)}`);
  return body.positionSec ?? 0;
}

export async function saveProgress(titleId, positionSec) {
  await fetch('/api/progress', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ titleId, positionSec: Math.max(0, Math.floor(positionSec)) }),
    keepalive: true,
  });
}

export async function getSubtitles(titleId, lang) {
  const res = await fetch(`/api/subtitles/${encodeURIComponent(titleId)}/${encodeURIComponent(lang)}`);
  if (!res.ok) throw new Error(`subtitles ${lang}: HTTP ${res.status}`);
  return res.text();
}
