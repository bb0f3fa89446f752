// uPlot in React: canvas charts that stay smooth at 10,000+ points, with drag-to-zoom (double-click resets) and
// hover read-outs in the legend. Each chart builds its options for the width it gets; this component owns the
// instance's lifetime.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function Plot({ options, data, testid, height = 240 }: { options: (width: number, height: number) => uPlot.Options; data: uPlot.AlignedData; testid: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const plot = new uPlot(options(el.current.clientWidth || 600, height), data, el.current);
    const resize = new ResizeObserver(() => el.current && plot.setSize({ width: el.current.clientWidth || 600, height }));
    resize.observe(el.current);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [options, data, height]);
  return <div ref={el} className="chart" data-testid={testid} />;
}

/** A colour per cluster: golden-angle hues, so neighbouring ids differ. */
export function clusterColor(k: number): string {
  return `hsl(${(k * 137.508) % 360}, 62%, 45%)`;
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
  return t < 0 ? `rgb(${Math.round(255 + 219 * t)}, ${Math.round(255 + 168 * t)}, 255)` : `rgb(255, ${Math.round(255 - 200 * t)}, ${Math.round(255 - 200 * t)})`;
}

/** Series that only feed scales and the legend; the chart's draw hook paints them. */
export const hiddenPaths = { paths: () => null, points: { show: false } } as const;
