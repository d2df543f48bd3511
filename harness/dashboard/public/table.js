// A data table of the dashboard's pages: named for screen readers, one header row of column titles
// (scope col), then the body rows. `h` is app.js's element builder.

export function dataTable(h, label, columns, rows) {
  return h(
    'table',
    { 'aria-label': label },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((title) => h('th', { scope: 'col' }, title)),
      ),
    ),
    h('tbody', {}, rows),
  );
}
