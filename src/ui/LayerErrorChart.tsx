// Per-layer relative output error ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖, one series per linear layer name across blocks.
import { useMemo } from 'react';
import type { LayerReport } from '../pipeline/types.ts';
import { SeriesChart } from './charts/SeriesChart.tsx';

export function LayerErrorChart({ layers }: { layers: LayerReport[] }) {
  const { x, series } = useMemo(() => {
    const names = [...new Set(layers.map((l) => l.linear))];
    const blocks = [...new Set(layers.map((l) => l.layer))].sort((a, b) => a - b);
    return { x: blocks, series: names.map((n) => ({ label: n, values: blocks.map((b) => layers.find((l) => l.layer === b && l.linear === n)?.relError ?? null) })) };
  }, [layers]);
  return <SeriesChart x={x} series={series} xLabel="block" yLabel="relative output error" integerX testid="layer-error-chart" height={220} />;
}
