// Lines (or bars) over a shared x: per-layer errors across blocks, weight histograms.
import { useMemo } from 'react';
import uPlot from 'uplot';
import { Plot } from './Plot.tsx';

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
}

export function SeriesChart(p: SeriesChartProps) {
  const data = useMemo(() => [p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData, [p.x, p.series]);
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => ({
        width,
        height,
        scales: { x: { time: false }, y: p.log ? { distr: 3 } : {} },
        axes: [
          { label: p.xLabel, values: p.integerX ? (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) : undefined },
          { label: p.yLabel, size: 64 },
        ],
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: p.xLabel },
          ...p.series.map((s, i) => ({
            label: s.label,
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
