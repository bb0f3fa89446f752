// A rows × cols grid of values painted as cells inside uPlot's axes (so zoom and the axis labels come from the
// library); the read-out under it names the cell under the cursor.
import { useMemo, useRef } from 'react';
import type uPlot from 'uplot';
import { hiddenPaths, Plot } from './Plot.tsx';

export interface HeatmapProps {
  rows: number;
  cols: number;
  data: ArrayLike<number>;
  color: (v: number) => string;
  xLabel: string;
  yLabel: string;
  readout: (row: number, col: number, v: number) => string;
  testid: string;
  height?: number;
}

export function HeatmapChart(p: HeatmapProps) {
  const out = useRef<HTMLParagraphElement>(null);
  const xs = useMemo(() => [Array.from({ length: p.cols + 1 }, (_, i) => i), Array.from({ length: p.cols + 1 }, () => null)] as uPlot.AlignedData, [p.cols]);
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => ({
        width,
        height,
        legend: { show: false },
        scales: { x: { time: false }, y: { range: [p.rows, 0], auto: false, dir: 1 } },
        axes: [{ label: p.xLabel }, { label: p.yLabel, size: 50 }],
        cursor: { drag: { x: true, y: false }, points: { show: false } },
        series: [{}, { ...hiddenPaths }],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              const c0 = Math.max(0, Math.floor(u.scales.x.min ?? 0));
              const c1 = Math.min(p.cols, Math.ceil(u.scales.x.max ?? p.cols));
              for (let r = 0; r < p.rows; r++) {
                const y0 = u.valToPos(r, 'y', true);
                const y1 = u.valToPos(r + 1, 'y', true);
                for (let c = c0; c < c1; c++) {
                  const x0 = u.valToPos(c, 'x', true);
                  ctx.fillStyle = p.color(p.data[r * p.cols + c]);
                  ctx.fillRect(x0, Math.min(y0, y1), u.valToPos(c + 1, 'x', true) - x0 + 0.5, Math.abs(y1 - y0) + 0.5);
                }
              }
            },
          ],
          setCursor: [
            (u) => {
              const { left, top } = u.cursor;
              if (!out.current || left == null || top == null || left < 0) return;
              const c = Math.floor(u.posToVal(left, 'x'));
              const r = Math.floor(u.posToVal(top, 'y'));
              if (r >= 0 && r < p.rows && c >= 0 && c < p.cols) out.current.textContent = p.readout(r, c, p.data[r * p.cols + c]);
            },
          ],
        },
      }),
    [p],
  );
  return (
    <>
      <Plot options={options} data={xs} testid={p.testid} height={p.height ?? 260} />
      <p className="hint readout" ref={out}>
        hover a cell
      </p>
    </>
  );
}
