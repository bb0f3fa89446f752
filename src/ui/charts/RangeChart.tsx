// Per-channel activation ranges at one site of one block: a vertical segment from min to max per channel, coloured by
// its cluster, in the original channel order or after RPTQ's reorder (clusters then sit side by side).
import { useCallback, useMemo } from 'react';
import type uPlot from 'uplot';
import type { SiteReport } from '../../quant/siteReport.ts';
import { fmtCell, type TableData } from './format.ts';
import { clusterColor, hiddenPaths, Plot } from './Plot.tsx';

/** Channel, cluster, min and max per channel in the order shown; the first maxRows channels. */
export function rangeTable(
  channel: number[],
  cluster: number[],
  lo: number[],
  hi: number[],
  maxRows = 2048,
): TableData {
  const n = Math.min(channel.length, maxRows);
  return {
    head: ['channel', 'cluster', 'min', 'max'],
    rows: Array.from({ length: n }, (_, i) => [String(channel[i]), String(cluster[i]), fmtCell(lo[i]), fmtCell(hi[i])]),
    note: n < channel.length ? `first ${n} of ${channel.length} channels` : undefined,
  };
}

export function RangeChart({
  site,
  order,
  caption,
  testid = 'range-chart',
}: {
  site: SiteReport;
  order: 'original' | 'reordered';
  /** the figure's caption and the canvas's accessible name */
  caption?: string;
  testid?: string;
}) {
  const { data, channel, cluster } = useMemo(() => {
    const C = site.channels;
    const perm = order === 'reordered' && site.perm ? site.perm : Array.from({ length: C }, (_, i) => i);
    const lo = perm.map((c) => site.ranges[c * 2]);
    const hi = perm.map((c) => site.ranges[c * 2 + 1]);
    return {
      data: [perm.map((_, i) => i), lo, hi] as uPlot.AlignedData,
      channel: perm,
      cluster: perm.map((c) => site.labels[c]),
    };
  }, [site, order]);
  const table = useCallback(
    () => rangeTable(channel, cluster, data[1] as number[], data[2] as number[]),
    [channel, cluster, data],
  );
  const xLabel = order === 'reordered' ? 'channel (reordered: clusters contiguous)' : 'channel';
  const options = useMemo(
    () =>
      (width: number, height: number): uPlot.Options => ({
        width,
        height,
        scales: { x: { time: false } },
        axes: [{ label: xLabel }, { label: 'activation', size: 60 }],
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
              const i0 = Math.max(0, Math.floor(u.scales.x.min ?? 0));
              const i1 = Math.min(channel.length - 1, Math.ceil(u.scales.x.max ?? channel.length - 1));
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
    [xLabel, channel, cluster, data],
  );
  const clusters = site.clusters > 1 ? `, coloured by cluster (${site.clusters} clusters)` : '';
  return (
    <Plot
      options={options}
      data={data}
      testid={testid}
      height={260}
      caption={caption ?? `activation range (min to max) by ${xLabel}, block ${site.layer}${clusters}`}
      table={table}
    />
  );
}
