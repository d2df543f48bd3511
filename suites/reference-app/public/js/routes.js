/** '#/title/t-x?start=5' → { name: 'title', id: 't-x', query: URLSearchParams }. */
export function parseRoute(hash) {
  const [path, queryString = ''] = (hash || '#/home').replace(/^#\/?/, '').split('?');
  const [name = 'home', id = null] = path.split('/');
  const known = ['home', 'search', 'title', 'player', 'settings'];
  return { name: known.includes(name) ? name : 'home', id, query: new URLSearchParams(queryString) };
}

/** Where Back goes when the app was opened directly on a deep link. */
export function parentRoute(route) {
  if (route.name === 'player' && route.id) return `#/title/${route.id}`;
  if (route.name === 'home') return null;
  return '#/home';
}
