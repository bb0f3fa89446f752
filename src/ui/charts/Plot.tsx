// uPlot in React: canvas charts that stay smooth at 10,000+ points, with drag-to-zoom (double-click resets) and
// hover read-outs in the legend. Each chart builds its options for the width it gets; this component owns the
// instance's lifetime and the figure around it: a caption, the canvas as one image named by that caption, and the
// numbers as a table for whoever cannot read the canvas.
import { useEffect, useRef, useSyncExternalStore, type ReactNode } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './charts.css';
import type { TableData } from './format.ts';
import { NumbersTable } from './NumbersTable.tsx';

export interface PlotProps {
  options: (width: number, height: number) => uPlot.Options;
  data: uPlot.AlignedData;
  testid: string;
  height?: number;
  /** the figure's caption and the canvas's accessible name */
  caption: string;
  /** the chart's numbers, built when the reader opens them */
  table: () => TableData;
  /** what sits between the canvas and the numbers (a colour scale, a read-out) */
  children?: ReactNode;
}

export function Plot({ options, data, testid, height = 240, caption, table, children }: PlotProps) {
  const el = useRef<HTMLDivElement>(null);
  const dark = usePrefersDark();
  useEffect(() => {
    const box = el.current;
    if (!box) return;
    // the --chart-* variables are read now, so a change of scheme (dark is a dependency) rebuilds with the new ones
    const opts = applyTheme(options(box.clientWidth || 600, height), readTheme());
    const plot = new uPlot(opts, data, box);
    const resize = new ResizeObserver(() => plot.setSize({ width: box.clientWidth || 600, height }));
    resize.observe(box);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [options, data, height, dark]);
  return (
    <figure className="chart-figure">
      <figcaption>{caption}</figcaption>
      <div ref={el} className="chart" data-testid={testid} role="img" aria-label={caption} />
      {children}
      <NumbersTable testid={testid} build={table} />
    </figure>
  );
}

// ---- theme: the page's colours for axes and grid, light or dark ----

export interface ChartTheme {
  /** axis labels, tick labels and ticks */
  axis: string;
  grid: string;
  /** the panel behind the chart (hollow points are filled with it) */
  panel: string;
}

export const LIGHT_THEME: ChartTheme = { axis: '#4a5563', grid: 'rgba(0,0,0,0.08)', panel: '#ffffff' };

/** The page's --chart-axis, --chart-grid and --panel (the light defaults where the page sets none). */
export function readTheme(): ChartTheme {
  if (typeof document === 'undefined' || typeof getComputedStyle === 'undefined') return LIGHT_THEME;
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    axis: read('--chart-axis', LIGHT_THEME.axis),
    grid: read('--chart-grid', LIGHT_THEME.grid),
    panel: read('--panel', LIGHT_THEME.panel),
  };
}

/** Options with the theme's colours wherever the chart did not choose its own. */
export function applyTheme(o: uPlot.Options, t: ChartTheme): uPlot.Options {
  return {
    ...o,
    axes: (o.axes ?? [{}, {}]).map((a) => ({
      ...a,
      stroke: a.stroke ?? t.axis,
      grid: { ...a.grid, stroke: a.grid?.stroke ?? t.grid },
      ticks: { ...a.ticks, stroke: a.ticks?.stroke ?? t.axis },
    })),
    // hollow points filled with the panel (uPlot's default is white, a bright dot on a dark panel)
    series: o.series.map((s, i) => (i === 0 ? s : { ...s, points: { ...s.points, fill: s.points?.fill ?? t.panel } })),
    // the hover point stays solid in its series' colour, as it was before points had a fill
    cursor: { ...o.cursor, points: { fill: solidPoint, ...o.cursor?.points } },
  };
}

function solidPoint(u: uPlot, si: number): string {
  const stroke = u.series[si].points?.stroke;
  return String((typeof stroke === 'function' ? stroke(u, si) : stroke) ?? '');
}

const DARK = '(prefers-color-scheme: dark)';

function subscribeScheme(onChange: () => void): () => void {
  if (typeof matchMedia === 'undefined') return () => {};
  const m = matchMedia(DARK);
  m.addEventListener('change', onChange);
  return () => m.removeEventListener('change', onChange);
}

/** Whether the system asks for dark; re-renders on a change. */
export function usePrefersDark(): boolean {
  return useSyncExternalStore(
    subscribeScheme,
    () => typeof matchMedia !== 'undefined' && matchMedia(DARK).matches,
    () => false,
  );
}

// ---- colours ----

/** WCAG relative luminance of an sRGB colour (0..255 channels). */
export function luminance(r: number, g: number, b: number): number {
  const lin = (c: number) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Lines and bars: every colour keeps a 3:1 contrast on white and on the dark panel (#1b1f24), so one palette
 *  serves both schemes. */
export const SERIES_COLORS = ['#3b75d4', '#d9475a', '#2f9a44', '#c77c0e', '#9a5cc6', '#0f8fa0', '#a86a3a', '#7a8794'];

function hslRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - (c / 2) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

const clusterColors = new Map<number, string>();

/** A colour per cluster: golden-angle hues, so neighbouring ids differ, each at the lightness that gives it the same
 *  luminance (0.2), so every hue stands out equally on a light and on a dark panel. */
export function clusterColor(k: number): string {
  let c = clusterColors.get(k);
  if (c === undefined) {
    const h = (k * 137.508) % 360;
    let [lo, hi] = [0.05, 0.95];
    for (let i = 0; i < 20; i++) {
      const mid = (lo + hi) / 2;
      if (luminance(...hslRgb(h, 0.62, mid)) < 0.2) lo = mid;
      else hi = mid;
    }
    c = `rgb(${hslRgb(h, 0.62, (lo + hi) / 2).join(', ')})`;
    clusterColors.set(k, c);
  }
  return c;
}

/** viridis at five stops: perceptually even from dark (0) to bright (1) */
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Sequential colour for v in [0, 1]. */
export function heat(v: number): string {
  const t = Math.max(0, Math.min(1, v)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t));
  const f = t - i;
  const [r, g, b] = VIRIDIS[i].map((c, j) => Math.round(c + (VIRIDIS[i + 1][j] - c) * f));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Diverging colour for v in [−1, 1] (blue → white → red). */
export function diverging(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  return t < 0
    ? `rgb(${Math.round(255 + 219 * t)}, ${Math.round(255 + 168 * t)}, 255)`
    : `rgb(255, ${Math.round(255 - 200 * t)}, ${Math.round(255 - 200 * t)})`;
}

/** Series that only feed scales and the legend; the chart's draw hook paints them. */
export const hiddenPaths = { paths: () => null, points: { show: false } } as const;
