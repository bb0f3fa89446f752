// Per-channel activation ranges at one site of one block: a vertical segment from min to max per channel, coloured by
// its cluster, in the original channel order or after RPTQ's reorder (clusters then sit side by side).
import { useMemo } from 'react';
import type uPlot from 'uplot';
import type { SiteReport } from '../../quant/siteReport.ts';
import { clusterColor, hiddenPaths, Plot } from './Plot.tsx';

export function RangeChart({ site, order }: { site: SiteReport; order: 'original' | 'reordered' }) {
  const { data, channel, cluster } = useMemo(() => {
    const C = site.channels;
    const perm = order === 'reordered' && site.perm ? site.perm : Array.from({ length: C }, (_, i) => i);
    const lo = perm.map((c) => site.ranges[c * 2]);
    const hi = perm.map((c) => site.ranges[c * 2 + 1]);
    return { data: [perm.map((_, i) => i), lo, hi] as uPlot.AlignedData, channel: perm, cluster: perm.map((c) => site.labels[c]) };
  }, [site, order]);
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => ({
        width,
        height,
        scales: { x: { time: false } },
        axes: [{ label: order === 'reordered' ? 'channel (reordered: clusters contiguous)' : 'channel' }, { label: 'activation', size: 60 }],
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: 'channel', value: (_u, i) => (i == null ? '' : `${channel[i]} · cluster ${cluster[i]}`) },
          { label: 'min', ...hiddenPaths },
          { label: 'max', ...hiddenPaths },
        ],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              const [i0, i1] = [Math.max(0, Math.floor(u.scales.x.min ?? 0)), Math.min(channel.length - 1, Math.ceil(u.scales.x.max ?? channel.length - 1))];
              const w = Math.max(1, Math.min(6, (u.bbox.width / Math.max(1, i1 - i0 + 1)) * 0.8));
              ctx.save();
              ctx.lineWidth = w;
              for (let i = i0; i <= i1; i++) {
                ctx.strokeStyle = clusterColor(cluster[i]);
                ctx.beginPath();
                const x = u.valToPos(i, 'x', true);
                ctx.moveTo(x, u.valToPos((data[1] as number[])[i], 'y', true));
                ctx.lineTo(x, u.valToPos((data[2] as number[])[i], 'y', true) - 0.5);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      }),
    [order, channel, cluster, data],
  );
  return <Plot options={options} data={data} testid="range-chart" height={260} />;
}
