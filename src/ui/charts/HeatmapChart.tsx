// A rows × cols grid of values painted as cells inside uPlot's axes (so zoom and the axis labels come from the
// library); the read-out under it names the cell under the cursor, and a colour scale under it shows what the colours
// mean.
import { useCallback, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import { fmtCell, type TableData } from './format.ts';
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
  /** the figure's caption and the canvas's accessible name (default: "yLabel by xLabel") */
  caption?: string;
  /** the values the colour scale runs between, and what they are (default: the data's min and max) */
  scale?: { lo: number; hi: number; label?: string };
}

/** Axes with this many cells or fewer (in view) put a tick at each cell's centre. */
const FEW_CELLS = 24;

/** 1, 2, 5, 10, 20, 50, …: the smallest such step of at least x (at least 1). */
function niceStep(x: number): number {
  if (!(x > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/**
 * Ticks for an axis of n cells, cell i spanning [i, i + 1], seen between min and max (either order: the row axis runs
 * downwards), with room for about `room` labels. Few cells in view: a tick at each centre i + 0.5 labelled "i" (every
 * k-th labelled when they would crowd); many: integer ticks only, at a step of 1, 2, 5, 10, ….
 */
export function cellTicks(n: number, min: number, max: number, room = Infinity): { at: number[]; labels: string[] } {
  const [lo, hi] = [Math.min(min, max), Math.max(min, max)];
  const first = Math.max(0, Math.floor(lo));
  const last = Math.min(n - 1, Math.ceil(hi) - 1);
  const at: number[] = [];
  const labels: string[] = [];
  if (last < first) return { at, labels };
  const seen = last - first + 1;
  if (seen <= FEW_CELLS) {
    const k = niceStep(seen / Math.max(1, room));
    for (let i = first; i <= last; i++) {
      if (i + 0.5 < lo || i + 0.5 > hi) continue;
      at.push(i + 0.5);
      labels.push(i % k === 0 ? String(i) : '');
    }
  } else {
    const step = niceStep((hi - lo) / Math.max(1, room));
    for (let t = Math.ceil(Math.max(0, lo) / step) * step; t <= Math.min(n, hi); t += step) {
      at.push(t);
      labels.push(String(t));
    }
  }
  return { at, labels };
}

/** A CSS gradient of `color` sampled at n values evenly over [lo, hi]: the very mapping the cells are painted with. */
export function gradientStops(color: (v: number) => string, lo: number, hi: number, n = 16): string {
  const m = Math.max(2, Math.round(n));
  const stops = Array.from({ length: m }, (_, i) => {
    const f = i / (m - 1);
    return `${color(lo + (hi - lo) * f)} ${Number((f * 100).toFixed(2))}%`;
  });
  return `linear-gradient(to right, ${stops.join(', ')})`;
}

/** The finite data's min and max ([0, 0] when there is none). */
export function dataRange(data: ArrayLike<number>): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** One table row per chart row, one column per chart column: the top-left maxRows × maxCols, with a note when cut. */
export function heatmapTable(
  rows: number,
  cols: number,
  data: ArrayLike<number>,
  maxRows = 64,
  maxCols = 32,
  corner = '',
): TableData {
  const [r, c] = [Math.min(rows, maxRows), Math.min(cols, maxCols)];
  return {
    head: [corner, ...Array.from({ length: c }, (_, j) => String(j))],
    rows: Array.from({ length: r }, (_, i) => [
      String(i),
      ...Array.from({ length: c }, (_, j) => fmtCell(data[i * cols + j])),
    ]),
    note: r < rows || c < cols ? `first ${r} of ${rows} rows and ${c} of ${cols} columns` : undefined,
  };
}

export function HeatmapChart(p: HeatmapProps) {
  const out = useRef<HTMLParagraphElement>(null);
  const xs = useMemo(
    () =>
      [
        Array.from({ length: p.cols + 1 }, (_, i) => i),
        Array.from({ length: p.cols + 1 }, () => null),
      ] as uPlot.AlignedData,
    [p.cols],
  );
  const range = useMemo(() => dataRange(p.data), [p.data]);
  const [lo, hi] = p.scale ? [p.scale.lo, p.scale.hi] : range;
  const gradient = gradientStops(p.color, lo, hi);
  const table = useCallback(
    () => heatmapTable(p.rows, p.cols, p.data, 64, 32, `${p.yLabel} \\ ${p.xLabel}`),
    [p.rows, p.cols, p.data, p.yLabel, p.xLabel],
  );
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => {
        // cell-centred integer ticks: splits computes them, values reads the labels of the same pass
        const ticks: Record<number, { at: number[]; labels: string[] }> = {};
        const axis = (n: number, px: number): Partial<uPlot.Axis> => ({
          splits: (u, i, min, max) => {
            const room = ((i === 0 ? u.bbox.width : u.bbox.height) / uPlot.pxRatio || 0) / px;
            ticks[i] = cellTicks(n, min, max, room);
            return ticks[i].at;
          },
          values: (_u, splits, i) =>
            ticks[i]?.at.length === splits.length ? ticks[i].labels : splits.map((t) => String(Math.floor(t))),
        });
        return {
          width,
          height,
          legend: { show: false },
          // rows run downwards by direction, not by a reversed range (uPlot finds no ticks for a min above max)
          scales: { x: { time: false }, y: { range: [0, p.rows], auto: false, dir: -1 } },
          axes: [
            { label: p.xLabel, ...axis(p.cols, 40) },
            { label: p.yLabel, size: 50, ...axis(p.rows, 18) },
          ],
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
                    const w = u.valToPos(c + 1, 'x', true) - x0 + 0.5;
                    ctx.fillRect(x0, Math.min(y0, y1), w, Math.abs(y1 - y0) + 0.5);
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
                if (r >= 0 && r < p.rows && c >= 0 && c < p.cols) {
                  out.current.textContent = p.readout(r, c, p.data[r * p.cols + c]);
                }
              },
            ],
          },
        };
      },
    [p],
  );
  const name = p.scale?.label;
  return (
    <Plot
      options={options}
      data={xs}
      testid={p.testid}
      height={p.height ?? 260}
      caption={p.caption ?? `${p.yLabel} by ${p.xLabel}`}
      table={table}
    >
      <div className="chart-scale" data-testid={`${p.testid}-scale`}>
        {name && <span className="chart-scale-name">{name}</span>}
        <div className="chart-scale-body">
          <div
            className="chart-scale-bar"
            style={{ background: gradient }}
            role="img"
            aria-label={`colour scale${name ? ` of ${name}` : ''}: ${fmtCell(lo)} to ${fmtCell(hi)}`}
          />
          <div className="chart-scale-labels" aria-hidden="true">
            <span>{fmtCell(lo)}</span>
            <span>{fmtCell((lo + hi) / 2)}</span>
            <span>{fmtCell(hi)}</span>
          </div>
        </div>
      </div>
      <p className="hint readout" ref={out}>
        hover a cell
      </p>
    </Plot>
  );
}
