// Lines (or bars) over a shared x: per-layer errors across blocks, weight histograms.
import { useCallback, useMemo } from 'react';
import uPlot from 'uplot';
import { fmtCell, fmtSci, type TableData } from './format.ts';
import { Plot, SERIES_COLORS } from './Plot.tsx';

export { fmtSci };

/** A log axis labels its decades (1e-5, 1e-4, …) and leaves the ticks between them blank. */
export function logAxisLabels(ticks: number[]): string[] {
  return ticks.map((t) => (t > 0 && Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9 ? fmtSci(t) : ''));
}

export interface SeriesChartProps {
  x: number[];
  series: { label: string; values: (number | null)[]; dash?: boolean }[];
  xLabel: string;
  yLabel: string;
  log?: boolean;
  bars?: boolean;
  integerX?: boolean;
  testid: string;
  height?: number;
  /** a fixed y range [0, yMax] (charts drawn side by side on one scale) */
  yMax?: number;
  /** the figure's caption and the canvas's accessible name (default: "yLabel by xLabel") */
  caption?: string;
}

/** The x column, then one column per series (a missing value is an empty cell); the first maxRows rows. */
export function seriesTable(
  x: number[],
  series: { label: string; values: (number | null)[] }[],
  xLabel = 'x',
  maxRows = 2048,
): TableData {
  const n = Math.min(x.length, maxRows);
  const rows = Array.from({ length: n }, (_, i) => [fmtCell(x[i]), ...series.map((s) => fmtCell(s.values[i]))]);
  return {
    head: [xLabel, ...series.map((s) => s.label)],
    rows,
    note: n < x.length ? `first ${n} of ${x.length} rows` : undefined,
  };
}

export function SeriesChart(p: SeriesChartProps) {
  const data = useMemo(() => [p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData, [p.x, p.series]);
  const table = useCallback(() => seriesTable(p.x, p.series, p.xLabel), [p.x, p.series, p.xLabel]);
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => ({
        width,
        height,
        scales: {
          x: { time: false },
          y: p.log ? { distr: 3, log: 10 } : p.yMax !== undefined ? { auto: false, range: [0, p.yMax] } : {},
        },
        axes: [
          {
            label: p.xLabel,
            values: p.integerX ? (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) : undefined,
          },
          // a log axis labels its decades in scientific notation (uPlot's default rounds 4e-5 to "0")
          p.log
            ? { label: p.yLabel, size: 72, values: (_, ticks) => logAxisLabels(ticks) }
            : { label: p.yLabel, size: 64 },
        ],
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: p.xLabel },
          ...p.series.map((s, i) => {
            const color = SERIES_COLORS[i % SERIES_COLORS.length];
            return {
              label: s.label,
              value: p.log ? (_: uPlot, v: number | null) => fmtSci(v) : undefined,
              stroke: color,
              width: p.bars ? 1 : 2,
              dash: s.dash ? [6, 4] : undefined,
              ...(p.bars
                ? { fill: color + '55', paths: uPlot.paths.bars!({ size: [0.9, 40] }) }
                : { points: { size: 5 } }),
            };
          }),
        ],
      }),
    [p],
  );
  return (
    <Plot
      options={options}
      data={data}
      testid={p.testid}
      height={p.height}
      caption={p.caption ?? `${p.yLabel} by ${p.xLabel}`}
      table={table}
    />
  );
}
