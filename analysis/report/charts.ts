import * as echarts from 'echarts';

type Option = Record<string, unknown>;

/** Renders an ECharts option to an SVG string on the server (no DOM, no animation). */
export function renderSvg(option: Option, width = 900, height = 420): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

export function heatmapSvg(tests: string[], devices: string[], cells: [number, number, number][]): string {
  return renderSvg(
    {
      title: { text: 'Failure risk: test x device', left: 'center' },
      grid: { left: 220, right: 40, top: 40, bottom: 120 },
      xAxis: { type: 'category', data: devices, axisLabel: { rotate: 60, fontSize: 9 } },
      yAxis: { type: 'category', data: tests, axisLabel: { fontSize: 9 } },
      visualMap: { min: 0, max: 1, calculable: false, orient: 'horizontal', left: 'center', bottom: 0 },
      series: [{ type: 'heatmap', data: cells }],
    },
    1000,
    Math.max(360, 160 + tests.length * 14),
  );
}

export function calibrationSvg(
  bins: { meanPredicted: number; observedRate: number; count: number }[],
): string {
  return renderSvg(
    {
      title: { text: 'Calibration: predicted vs observed failure rate', left: 'center' },
      xAxis: { type: 'value', min: 0, max: 1, name: 'predicted' },
      yAxis: { type: 'value', min: 0, max: 1, name: 'observed' },
      series: [
        {
          type: 'line',
          name: 'perfect',
          data: [
            [0, 0],
            [1, 1],
          ],
          lineStyle: { type: 'dashed' },
          symbol: 'none',
        },
        { type: 'line', name: 'model', data: bins.map((b) => [b.meanPredicted, b.observedRate]) },
      ],
      legend: { bottom: 0 },
    },
    600,
    420,
  );
}

export function apfdSvg(cycles: string[], series: Record<string, (number | null)[]>): string {
  return renderSvg({
    title: { text: 'APFD per failing cycle', left: 'center' },
    legend: { bottom: 0 },
    xAxis: { type: 'category', data: cycles, name: 'cycle' },
    yAxis: { type: 'value', min: 0, max: 1, name: 'APFD' },
    series: Object.entries(series).map(([name, data]) => ({ type: 'line', name, data, symbolSize: 3 })),
  });
}
