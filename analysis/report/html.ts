import { apfdSvg, calibrationSvg, heatmapSvg } from './charts.ts';
import type { ReportData } from './build.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function table(head: string[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td>${escapeHtml(typeof c === 'number' ? fmt(c) : c)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(3);
}

function heatmap(data: ReportData): string {
  if (data.risk.length === 0) return '<p>No pairs to score.</p>';
  const byTest = new Map<string, number>();
  const devices = new Set<string>();
  for (const r of data.risk) {
    byTest.set(r.test, Math.max(byTest.get(r.test) ?? 0, r.probability));
    devices.add(r.device);
  }
  const tests = [...byTest.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 40)
    .map(([t]) => t);
  const devs = [...devices].sort().slice(0, 40);
  const ti = new Map(tests.map((t, i) => [t, i]));
  const di = new Map(devs.map((d, i) => [d, i]));
  const cells: [number, number, number][] = [];
  for (const r of data.risk) {
    const x = di.get(r.device);
    const y = ti.get(r.test);
    if (x !== undefined && y !== undefined) cells.push([x, y, Number(r.probability.toFixed(4))]);
  }
  return heatmapSvg(tests, devs, cells);
}

function topPerDevice(data: ReportData, k = 5): string {
  const per = new Map<string, ReportData['risk']>();
  for (const r of data.risk) {
    const list = per.get(r.device) ?? [];
    if (list.length < k) list.push(r);
    per.set(r.device, list);
  }
  const rows = [...per.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .flatMap(([device, list]) => list.map((r) => [device, r.test, r.probability, r.reasons.join('; ')]));
  return table(['device', 'test', 'probability', 'reasons'], rows);
}

/** Renders the report as one self-contained HTML page: inline CSS, inline SVG charts, no scripts. */
export function renderReportHtml(data: ReportData): string {
  const sections: string[] = [];
  sections.push(`<h2>Risk heatmap</h2>${heatmap(data)}`);
  sections.push(`<h2>Top risky pairs per device</h2>${topPerDevice(data)}`);
  const ev = data.evaluation;
  if (ev) {
    sections.push(
      `<h2>Calibration</h2>${ev.calibration.length ? calibrationSvg(ev.calibration) : '<p>No calibrated predictions.</p>'}`,
    );
    const failing = ev.perCycle.filter((c) => c.failing > 0);
    const strategies = Object.keys(ev.summary);
    const series = Object.fromEntries(
      strategies.map((s) => [
        s,
        failing.map((c) => (c.metrics[s] ? Number(c.metrics[s].apfd.toFixed(4)) : null)),
      ]),
    );
    sections.push(
      `<h2>APFD per cycle against the baselines</h2>${apfdSvg(
        failing.map((c) => c.cycle),
        series,
      )}`,
    );
    const metricNames = Object.keys(ev.summary[strategies[0] ?? ''] ?? {});
    sections.push(
      `<h2>Online evaluation summary</h2>${table(
        ['strategy', ...metricNames],
        strategies.map((s) => [s, ...metricNames.map((m) => ev.summary[s]![m]!)]),
      )}`,
    );
  } else sections.push('<h2>Calibration and APFD</h2><p>No evaluation given.</p>');
  sections.push(
    `<h2>Flaky tests, per device</h2><p>Failed then passed on a retry, or flipped verdict on the same build, on that device (never from one device failing where others pass).</p>${
      data.flaky.length
        ? table(
            ['test', 'device', 'runs', 'failures', 'passed on retry', 'same-build flips', 'flaky rate'],
            data.flaky.map((f) => [f.test, f.device, f.runs, f.failures, f.retried, f.flips, f.flakyRate]),
          )
        : '<p>No flaky tests in the history (or no history given).</p>'
    }`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#f0f0f0}
svg{max-width:100%;height:auto}
</style></head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p>Generated ${escapeHtml(data.generatedAt)}; ${data.risk.length} pairs scored by ${escapeHtml(data.rankedBy)}.</p>
${sections.join('\n')}
</body></html>
`;
}
