// Learnable weight clipping's views: each block's loss per epoch (live in the Run panel while it trains, then in
// Inspect), the learned clip of every row of a layer against DuQuant's static 0.8, and each layer's output error with
// the trained clip and without it.
import { useMemo } from 'react';
import type { ClipTrainingReport, LayerReport } from '../pipeline/types.ts';
import { SeriesChart } from './charts/SeriesChart.tsx';

/** DuQuant's static weight clip (run.sh's --swc 0.8), what the learned clip replaces */
const STATIC_CLIP = 0.8;

/** Mean loss per epoch, one line per block (a block still training shows the epochs so far). */
export function LossCurves({
  blocks,
  epochs,
  live,
}: {
  blocks: ClipTrainingReport['blocks'];
  epochs: number;
  live?: boolean;
}) {
  const x = useMemo(() => Array.from({ length: Math.max(1, epochs) }, (_, i) => i + 1), [epochs]);
  const series = useMemo(
    () =>
      blocks.map((b) => ({
        label: `block ${b.layer}`,
        values: x.map((e) => b.losses[e - 1] ?? null),
      })),
    [blocks, x],
  );
  const curves = blocks.filter((b) => b.losses.length > 1).length;
  const falling = blocks.filter((b) => b.losses.length > 1 && b.losses[b.losses.length - 1] < b.losses[0]).length;
  return (
    <div data-testid="lwc-loss">
      <SeriesChart
        x={x}
        series={series}
        xLabel="epoch"
        yLabel="loss (MSE)"
        log
        integerX
        testid="lwc-loss-chart"
        height={180}
        caption={
          `learnable clipping: each block's mean loss per epoch (MSE of its output against the full-precision ` +
          `block's)${live ? ', while it trains' : ''}`
        }
      />
      <p className="hint" data-testid="lwc-loss-summary">
        {blocks.length} block{blocks.length === 1 ? '' : 's'} trained
        {curves ? `; the loss fell from the first epoch to the last in ${falling} of ${curves}` : ''}
        {blocks.some((b) => b.stopped)
          ? `; stopped early: ${blocks
              .filter((b) => b.stopped)
              .map((b) => `block ${b.layer} (${b.stopped})`)
              .join(', ')}`
          : ''}
      </p>
    </div>
  );
}

/** The learned clip of each row (σ(up) of its max, σ(low) of its min) of one layer, against the static 0.8. */
export function ClipRows({ up, low, groups, linear }: { up: number[]; low: number[]; groups: number; linear: string }) {
  const x = useMemo(() => up.map((_, i) => i), [up]);
  const series = useMemo(
    () => [
      { label: 'σ(up): fraction of the max kept', values: up },
      { label: 'σ(low): fraction of the min kept', values: low },
      { label: `static clip (swc ${STATIC_CLIP})`, values: up.map(() => STATIC_CLIP), dash: true },
    ],
    [up, low],
  );
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  return (
    <div data-testid="lwc-clip">
      <SeriesChart
        x={x}
        series={series}
        xLabel={groups > 1 ? `row × group (${groups} groups per row)` : 'output row'}
        yLabel="clip"
        integerX
        testid="lwc-clip-chart"
        height={160}
        caption={`${linear}: the learned clip of every ${groups > 1 ? 'row group' : 'row'} against the static 0.8`}
      />
      <p className="hint">
        mean σ(up) {mean(up).toFixed(3)}, mean σ(low) {mean(low).toFixed(3)}; the grid of each{' '}
        {groups > 1 ? 'row group' : 'row'} spans [σ(low)·min, σ(up)·max] of its weights (after the transform)
      </p>
    </div>
  );
}

/** Each layer's relative output error with the trained clip and without it, over the run's layers. */
export function ErrorWithAndWithout({ layers }: { layers: LayerReport[] }) {
  const shown = useMemo(() => layers.filter((l) => l.relErrorUntrained !== undefined), [layers]);
  const x = useMemo(() => shown.map((_, i) => i), [shown]);
  const series = useMemo(
    () => [
      { label: 'learned clip', values: shown.map((l) => l.relError) },
      { label: 'without it', values: shown.map((l) => l.relErrorUntrained!), dash: true },
    ],
    [shown],
  );
  if (!shown.length) return null;
  const better = shown.filter((l) => l.relError < l.relErrorUntrained!).length;
  return (
    <div data-testid="lwc-error">
      <SeriesChart
        x={x}
        series={series}
        xLabel={`layer (${shown[0].linear} of block ${shown[0].layer} first, in run order)`}
        yLabel="rel. output error"
        integerX
        testid="lwc-error-chart"
        height={170}
        caption="each layer's relative output error ‖XWᵀ − XŴᵀ‖/‖XWᵀ‖ with the learned clip and without it"
      />
      <p className="hint" data-testid="lwc-error-summary">
        The learned clip lowers the output error of {better} of {shown.length} layers (without it: DuQuant's static clip
        0.8 after a transform, else the weight step's plain grid).
      </p>
    </div>
  );
}
