// D-pad navigation over rows of focusable elements: Left/Right within a row (no wrap),
// Up/Down between rows keeping the column where possible.

export class FocusGrid {
  constructor(rows) {
    this.rows = rows.map((row) => row.filter(Boolean)).filter((row) => row.length > 0);
  }

  locate(el) {
    for (let r = 0; r < this.rows.length; r++) {
      const c = this.rows[r].indexOf(el);
      if (c >= 0) return { r, c };
    }
    return null;
  }

  /** The element to focus after `action` from `el`, or null when focus stays. */
  next(el, action) {
    const at = this.locate(el);
    if (!at) return this.rows[0]?.[0] ?? null;
    const row = this.rows[at.r];
    if (action === 'left') return at.c > 0 ? row[at.c - 1] : null;
    if (action === 'right') return at.c < row.length - 1 ? row[at.c + 1] : null;
    const r = action === 'up' ? at.r - 1 : action === 'down' ? at.r + 1 : at.r;
    if (r === at.r || r < 0 || r >= this.rows.length) return null;
    const target = this.rows[r];
    return target[Math.min(at.c, target.length - 1)];
  }
}
