import { loadCatalog } from '../api.js';
import { h } from '../dom.js';

export async function render({ device, navigate }) {
  const { rows, titles } = await loadCatalog();
  const byId = new Map(titles.map((t) => [t.id, t]));
  const tileRows = [];
  const sections = rows.map((row) => {
    const tiles = row.titleIds.map((id) => {
      const t = byId.get(id);
      return h(
        'button',
        {
          class: 'tile',
          testid: `tile-${row.id}-${t.id}`,
          'aria-label': `${t.name}, ${t.genre}, ${t.year}`,
          dataset: { titleId: t.id, rowId: row.id },
          onclick: () => navigate(`#/title/${t.id}`),
        },
        t.name,
      );
    });
    tileRows.push(tiles);
    return h(
      'section',
      { class: 'row', testid: `row-${row.id}`, 'aria-labelledby': `row-title-${row.id}` },
      h('h2', { id: `row-title-${row.id}` }, row.name),
      h('div', { class: 'tiles', role: 'list' }, tiles),
    );
  });
  const el = h('div', { testid: 'screen-home' }, sections);
  const carousel = tileRows[rows.findIndex((r) => r.id === 'trending')] ?? [];

  return {
    el,
    grid: () => tileRows,
    initialFocus: () => tileRows[0]?.[0],
    // The compact (720p and below) layout shows Trending as a wrap-around carousel so the short
    // screen still hints at more titles.
    onKey(action) {
      if (device.layout !== 'compact') return false;
      const at = carousel.indexOf(document.activeElement);
      if (at < 0) return false;
      const n = carousel.length;
      if (action === 'right') carousel[(at + 1) % n].focus();
      else if (action === 'left') carousel[(at - 1 + n) % n].focus();
      // DEFECT D2 (DEFECTS.md): Up/Down are swallowed to stop the page scrolling during the slide
      // animation, and never handed back to the grid, so focus cannot leave the carousel.
      else if (action !== 'up' && action !== 'down') return false;
      return true;
    },
    state: () => ({ focused: document.activeElement?.dataset?.testid ?? null }),
  };
}
