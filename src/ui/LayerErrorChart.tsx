// Per-layer relative output error ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖, one series per linear layer name across blocks. uPlot draws on
// canvas, so thousands of points stay smooth, with hover read-outs from its legend.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LayerReport } from '../pipeline/types.ts';

const COLORS = ['#2457c5', '#d1495b', '#2e933c', '#edae49', '#7b4fa3', '#00798c', '#a35d2d'];

export function LayerErrorChart({ layers }: { layers: LayerReport[] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current || layers.length === 0) return;
    const names = [...new Set(layers.map((l) => l.linear))];
    const blocks = [...new Set(layers.map((l) => l.layer))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [
      blocks,
      ...names.map((n) => blocks.map((b) => layers.find((l) => l.layer === b && l.linear === n)?.relError ?? null)),
    ];
    const plot = new uPlot(
      {
        width: el.current.clientWidth || 420,
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: 'block', values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) }, { label: 'relative output error', size: 60 }],
        series: [{ label: 'block' }, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2, points: { size: 6 } }))],
      },
      data,
      el.current,
    );
    return () => plot.destroy();
  }, [layers]);
  return <div ref={el} className="chart" data-testid="layer-error-chart" />;
}
