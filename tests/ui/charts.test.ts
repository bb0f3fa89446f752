// Chart read-outs that cannot be read off a canvas: a log axis labels its decades in scientific notation and never
// rounds a small error to "0"; hover read-outs keep two significant digits. Every chart's text alternative (caption,
// numbers table), the heatmaps' colour scale and cell-centred ticks, and colours legible on light and dark panels.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { fmtCell } from '../../src/ui/charts/format.ts';
import { cellTicks, dataRange, gradientStops, HeatmapChart, heatmapTable } from '../../src/ui/charts/HeatmapChart.tsx';
import {
  applyTheme,
  clusterColor,
  diverging,
  heat,
  LIGHT_THEME,
  luminance,
  readTheme,
  SERIES_COLORS,
} from '../../src/ui/charts/Plot.tsx';
import { rangeTable } from '../../src/ui/charts/RangeChart.tsx';
import { fmtSci, logAxisLabels, SeriesChart, seriesTable } from '../../src/ui/charts/SeriesChart.tsx';

describe('log-axis labels and read-outs', () => {
  it('decades in scientific notation, the ticks between them blank, small errors never "0"', () => {
    expect(logAxisLabels([1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 1e-4, 1e-3])).toEqual([
      '1.0e-6',
      '',
      '',
      '1.0e-5',
      '',
      '1.0e-4',
      '1.0e-3',
    ]);
    expect(fmtSci(4.2e-5)).toBe('4.2e-5');
    expect(fmtSci(0.0123)).toBe('0.0123');
    expect(fmtSci(0.5)).toBe('0.5');
    expect(fmtSci(null)).toBe('—');
  });
});

describe('numbers tables', () => {
  it('cells: integers in full, small values scientific, missing values empty', () => {
    expect(fmtCell(12)).toBe('12');
    expect(fmtCell(4.2e-5)).toBe('4.2e-5');
    expect(fmtCell(0.123456)).toBe('0.1235');
    expect(fmtCell(-3.14159)).toBe('-3.142');
    expect(fmtCell(null)).toBe('');
    expect(fmtCell(undefined)).toBe('');
    expect(fmtCell(NaN)).toBe('NaN');
  });

  it('a series chart: the x column, then one column per series; null is an empty cell', () => {
    const t = seriesTable(
      [0, 1, 2],
      [
        { label: 'q_proj', values: [0.5, null, 3e-5] },
        { label: 'k_proj', values: [1, 2, 3] },
      ],
      'block',
    );
    expect(t.head).toEqual(['block', 'q_proj', 'k_proj']);
    expect(t.rows).toEqual([
      ['0', '0.5', '1'],
      ['1', '', '2'],
      ['2', '3.0e-5', '3'],
    ]);
    expect(t.note).toBeUndefined();
    const long = seriesTable(
      Array.from({ length: 5000 }, (_, i) => i),
      [{ label: 'n', values: [] }],
      'x',
      2048,
    );
    expect(long.rows).toHaveLength(2048);
    expect(long.note).toBe('first 2048 of 5000 rows');
  });

  it('a heatmap: one row per chart row, one column per chart column, cut at 64 × 32 with a note', () => {
    const small = heatmapTable(2, 3, [1, 2, 3, 4, 5, 6.5]);
    expect(small.head).toEqual(['', '0', '1', '2']);
    expect(small.rows).toEqual([
      ['0', '1', '2', '3'],
      ['1', '4', '5', '6.5'],
    ]);
    expect(small.note).toBeUndefined();
    const data = Float32Array.from({ length: 100 * 40 }, (_, i) => i);
    const big = heatmapTable(100, 40, data, 64, 32);
    expect(big.rows).toHaveLength(64);
    expect(big.rows.every((r) => r.length === 33)).toBe(true);
    expect(big.rows[1][1]).toBe('40'); // row 1, column 0 of the 40-wide grid
    expect(big.note).toBe('first 64 of 100 rows and 32 of 40 columns');
  });

  it('a range chart: channel, cluster, min and max per channel, cut at 2048 with a note', () => {
    const t = rangeTable([2, 0], [1, 0], [-0.5, -1], [0.25, 1]);
    expect(t.head).toEqual(['channel', 'cluster', 'min', 'max']);
    expect(t.rows).toEqual([
      ['2', '1', '-0.5', '0.25'],
      ['0', '0', '-1', '1'],
    ]);
    const n = 3000;
    const ids = Array.from({ length: n }, (_, i) => i);
    const cut = rangeTable(ids, ids, ids, ids);
    expect(cut.rows).toHaveLength(2048);
    expect(cut.note).toBe('first 2048 of 3000 channels');
  });
});

describe('heatmap colour scale', () => {
  it('samples the chart’s own colour function evenly from lo to hi', () => {
    const color = (v: number) => heat(v / 8);
    const g = gradientStops(color, 0, 8, 16);
    expect(g.startsWith('linear-gradient(to right, ')).toBe(true);
    const stops = g.slice('linear-gradient(to right, '.length, -1).split(/,\s*(?=rgb)/);
    expect(stops).toHaveLength(16);
    expect(stops[0]).toBe(`${color(0)} 0%`);
    expect(stops[15]).toBe(`${color(8)} 100%`);
    expect(stops[5]).toBe(`${color(8 / 3)} 33.33%`);
  });

  it('a diverging scale is white in its middle; without a scale the data’s range is used', () => {
    const g = gradientStops((v) => diverging(v / 2), -2, 2, 3);
    expect(g).toBe('linear-gradient(to right, rgb(36, 87, 255) 0%, rgb(255, 255, 255) 50%, rgb(255, 55, 55) 100%)');
    expect(dataRange([3, -1, NaN, 7, Infinity])).toEqual([-1, 7]);
    expect(dataRange([])).toEqual([0, 0]);
  });
});

describe('heatmap ticks', () => {
  it('one cell: one tick "0" in its middle, on either scale direction, never fractions', () => {
    expect(cellTicks(1, 0, 1)).toEqual({ at: [0.5], labels: ['0'] });
    expect(cellTicks(1, 1, 0, 3)).toEqual({ at: [0.5], labels: ['0'] });
  });

  it('few cells: a tick at each centre labelled with the cell', () => {
    expect(cellTicks(3, 0, 3)).toEqual({ at: [0.5, 1.5, 2.5], labels: ['0', '1', '2'] });
    // rows run downwards: the scale goes from rows to 0
    expect(cellTicks(3, 3, 0).at).toEqual([0.5, 1.5, 2.5]);
  });

  it('crowded centres keep every tick but label only every k-th', () => {
    const t = cellTicks(24, 24, 0, 6);
    expect(t.at).toHaveLength(24);
    expect(t.labels.filter((l) => l !== '')).toEqual(['0', '5', '10', '15', '20']);
  });

  it('many cells: integer ticks only, at a round step', () => {
    for (const room of [Infinity, 12, 5, 1]) {
      const t = cellTicks(200, 0, 200, room);
      expect(t.at.length).toBeGreaterThan(0);
      expect(t.at.every(Number.isInteger)).toBe(true);
      expect(t.labels.every((l) => /^\d+$/.test(l))).toBe(true);
      expect(t.at.length).toBeLessThanOrEqual(Math.max(1, room) + 1);
    }
    expect(cellTicks(200, 0, 200, 10).at).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200]);
    // zoomed in to a few cells of many: centres again
    expect(cellTicks(200, 10, 13.2)).toEqual({ at: [10.5, 11.5, 12.5], labels: ['10', '11', '12'] });
  });
});

describe('colours on light and dark panels', () => {
  const rgb = (css: string): [number, number, number] => {
    if (css.startsWith('#')) {
      const n = parseInt(css.slice(1), 16);
      return [n >> 16, (n >> 8) & 255, n & 255];
    }
    return css.match(/\d+/g)!.slice(0, 3).map(Number) as [number, number, number];
  };
  const contrast = (a: string, b: string) => {
    const [la, lb] = [luminance(...rgb(a)), luminance(...rgb(b))];
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  };

  it('every series colour and cluster colour keeps 3:1 against white and the dark panel', () => {
    const colours = [...SERIES_COLORS, ...Array.from({ length: 64 }, (_, k) => clusterColor(k))];
    for (const c of colours) {
      expect(contrast(c, '#ffffff'), c).toBeGreaterThanOrEqual(3);
      expect(contrast(c, '#1b1f24'), c).toBeGreaterThanOrEqual(3);
    }
    expect(new Set(Array.from({ length: 8 }, (_, k) => clusterColor(k))).size).toBe(8);
  });

  it('axes take the theme’s colours unless the chart chose its own', () => {
    expect(readTheme()).toEqual(LIGHT_THEME); // no page here: the light defaults
    const dark = { axis: '#c9d1d9', grid: 'rgba(255, 255, 255, 0.1)', panel: '#1b1f24' };
    const o = applyTheme(
      { width: 100, height: 100, axes: [{ label: 'x' }, { stroke: 'red', grid: { width: 2 } }], series: [{}, {}] },
      dark,
    );
    expect(o.axes![0]).toMatchObject({
      label: 'x',
      stroke: dark.axis,
      grid: { stroke: dark.grid },
      ticks: { stroke: dark.axis },
    });
    expect(o.axes![1]).toMatchObject({ stroke: 'red', grid: { width: 2, stroke: dark.grid } });
    expect(o.series[1].points!.fill).toBe(dark.panel);
  });
});

describe('chart figures', () => {
  it('a series chart: a captioned figure, the canvas box named by the caption, the numbers closed', () => {
    const html = renderToStaticMarkup(
      createElement(SeriesChart, {
        x: [0, 1],
        series: [{ label: 'err', values: [0.1, 0.2] }],
        xLabel: 'block',
        yLabel: 'error',
        testid: 'errs',
      }),
    );
    expect(html).toMatch(/^<figure class="chart-figure"><figcaption>error by block<\/figcaption>/);
    expect(html).toContain('<div class="chart" data-testid="errs" role="img" aria-label="error by block"></div>');
    expect(html).toContain(
      '<details class="chart-numbers" data-testid="errs-numbers"><summary>Numbers (table)</summary>',
    );
    expect(html).not.toContain('errs-table'); // built only once opened
  });

  it('a heatmap: its caption, a colour scale with lo, mid and hi, and the read-out', () => {
    const html = renderToStaticMarkup(
      createElement(HeatmapChart, {
        rows: 2,
        cols: 1,
        data: [0, 4],
        color: (v: number) => heat(v / 4),
        xLabel: 'group',
        yLabel: 'row',
        readout: () => '',
        testid: 'hm',
        caption: 'group scales',
        scale: { lo: 0, hi: 4, label: 'scale' },
      }),
    );
    expect(html).toContain('<figcaption>group scales</figcaption>');
    expect(html).toContain('aria-label="group scales"');
    expect(html).toContain('data-testid="hm-scale"');
    expect(html).toContain(gradientStops((v) => heat(v / 4), 0, 4));
    expect(html).toContain('<span>0</span><span>2</span><span>4</span>');
    expect(html).toContain('class="hint readout"');
    expect(html).toContain('data-testid="hm-numbers"');
  });
});
