// Per-layer charts across blocks, one series per linear layer name: the relative output error
// ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖ and the bits per weight each layer stores (codes plus scales and zeros, or CLAQ's
// codebooks and reserved values).
import { useMemo } from 'react';
import type { LayerReport } from '../pipeline/types.ts';
import { SeriesChart } from './charts/SeriesChart.tsx';

const RELATIVE_ERROR_CAPTION =
  "each layer's relative output error ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖ on the calibration inputs, by block";
const BITS_PER_WEIGHT_CAPTION =
  'bits per weight each layer stores (codes plus scales and zeros, or codebooks and reserved values), by block';

function byLinear(layers: LayerReport[], value: (l: LayerReport) => number) {
  const names = [...new Set(layers.map((l) => l.linear))];
  const blocks = [...new Set(layers.map((l) => l.layer))].sort((a, b) => a - b);
  return {
    x: blocks,
    series: names.map((n) => ({
      label: n,
      values: blocks.map((b) => {
        const l = layers.find((x) => x.layer === b && x.linear === n);
        return l ? value(l) : null;
      }),
    })),
  };
}

export function LayerErrorChart({ layers }: { layers: LayerReport[] }) {
  const { x, series } = useMemo(() => byLinear(layers, (l) => l.relError), [layers]);
  return (
    <SeriesChart
      x={x}
      series={series}
      xLabel="block"
      yLabel="relative output error"
      integerX
      testid="layer-error-chart"
      height={200}
      caption={RELATIVE_ERROR_CAPTION}
    />
  );
}

export function LayerBitsChart({ layers }: { layers: LayerReport[] }) {
  const { x, series } = useMemo(() => byLinear(layers, (l) => l.bits), [layers]);
  return (
    <SeriesChart
      x={x}
      series={series}
      xLabel="block"
      yLabel="bits per weight"
      integerX
      testid="layer-bits-chart"
      height={170}
      caption={BITS_PER_WEIGHT_CAPTION}
    />
  );
}
