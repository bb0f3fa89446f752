// Lines (or bars) over a shared x: per-layer errors across blocks, weight histograms.
import { useMemo } from 'react';
import uPlot from 'uplot';
import { Plot } from './Plot.tsx';

/** 3.2e-5, 0.012, 4.1: log-axis ticks and read-outs that never round a small error to "0" */
export function fmtSci(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 0.01 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(1);
}

/** A log axis labels its decades (1e-5, 1e-4, …) and leaves the ticks between them blank. */
export function logAxisLabels(ticks: number[]): string[] {
  return ticks.map((t) => (t > 0 && Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9 ? fmtSci(t) : ''));
}

const COLORS = ['#2457c5', '#d1495b', '#2e933c', '#edae49', '#7b4fa3', '#00798c', '#a35d2d', '#5c6b73'];

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
}

export function SeriesChart(p: SeriesChartProps) {
  const data = useMemo(() => [p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData, [p.x, p.series]);
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => ({
        width,
        height,
        scales: { x: { time: false }, y: p.log ? { distr: 3, log: 10 } : p.yMax !== undefined ? { auto: false, range: [0, p.yMax] } : {} },
        axes: [
          { label: p.xLabel, values: p.integerX ? (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) : undefined },
          // a log axis labels its decades in scientific notation (uPlot's default rounds 4e-5 to "0")
          p.log ? { label: p.yLabel, size: 72, values: (_, ticks) => logAxisLabels(ticks) } : { label: p.yLabel, size: 64 },
        ],
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: p.xLabel },
          ...p.series.map((s, i) => ({
            label: s.label,
            value: p.log ? (_: uPlot, v: number | null) => fmtSci(v) : undefined,
            stroke: COLORS[i % COLORS.length],
            width: p.bars ? 1 : 2,
            dash: s.dash ? [6, 4] : undefined,
            ...(p.bars ? { fill: COLORS[i % COLORS.length] + '55', paths: uPlot.paths.bars!({ size: [0.9, 40] }) } : { points: { size: 5 } }),
          })),
        ],
      }),
    [p],
  );
  return <Plot options={options} data={data} testid={p.testid} height={p.height} />;
}
