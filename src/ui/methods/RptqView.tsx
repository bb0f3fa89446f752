// RPTQ's Inspect view of one site of one block: channel ranges in the original order or after the reorder, coloured
// by k-means cluster; the clusters' sizes and ranges; the activation error of k-means clusters against the two
// baselines without reorder (contiguous groups, one range per tensor) across blocks, on a log axis.
import { useMemo } from 'react';
import { useLab } from '../../store/labStore.ts';
import type { ActSite } from '../../model/taps.ts';
import type { SiteReport } from '../../quant/siteReport.ts';
import { RangeChart } from '../charts/RangeChart.tsx';
import { SeriesChart } from '../charts/SeriesChart.tsx';
import { clusterColor } from '../charts/Plot.tsx';
import type { MethodViewProps } from './index.ts';

const GROUPING_NAMES: Record<string, string> = {
  kmeans: 'k-means clusters (RPTQ)',
  contiguous: 'contiguous groups',
  tensor: 'per tensor',
};

/** Why a site has no "after reorder" view. */
function noReorderReason(site: SiteReport): string {
  if (site.point === 'R2' && site.clusters > 1)
    return (
      'R2 is not folded on rotary models: its clusters apply after RoPE at run time, ' +
      'so the channels stay in their original order'
    );
  return 'this run did not reorder these channels';
}

function ClusterTable({ site }: { site: SiteReport }) {
  const rows = useMemo(() => {
    const size = new Array<number>(site.clusters).fill(0);
    for (const l of site.labels) size[l]++;
    return size
      .map((n, k) => ({ k, n, lo: site.clusterRanges[k * 2], hi: site.clusterRanges[k * 2 + 1] }))
      .filter((r) => r.n > 0);
  }, [site]);
  return (
    <div className="scroll short">
      <table data-testid="cluster-table">
        <thead>
          <tr>
            <th>cluster</th>
            <th>channels</th>
            <th>min</th>
            <th>max</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.k}>
              <td>
                <span className="swatch" style={{ background: clusterColor(r.k) }} /> {r.k}
              </td>
              <td>{r.n}</td>
              <td>{r.lo.toFixed(3)}</td>
              <td>{r.hi.toFixed(3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ActivationErrors({ sites, site }: { sites: SiteReport[]; site: ActSite }) {
  const of = useMemo(() => sites.filter((s) => s.site === site && s.error), [sites, site]);
  const x = useMemo(() => of.map((s) => s.layer), [of]);
  const series = useMemo(
    () =>
      Object.keys(of[0]?.error ?? {}).map((g) => ({
        label: GROUPING_NAMES[g] ?? g,
        values: of.map((s) => s.error![g]),
        dash: g !== 'kmeans',
      })),
    [of],
  );
  if (of.length === 0)
    return <p className="hint">This site is not quantized in this run (16 bits), so it has no activation error.</p>;
  return (
    <SeriesChart
      x={x}
      series={series}
      xLabel="block"
      yLabel="‖x̂ − x‖² / ‖x‖²"
      log
      integerX
      testid="act-error-chart"
      height={200}
    />
  );
}

export function RptqView({ sites, site, siteName }: MethodViewProps) {
  const channelOrder = useLab((s) => s.channelOrder);
  const setInspect = useLab((s) => s.setInspect);
  // what the chart really shows: a site without a folded reorder is drawn in its original order
  const shownOrder = site.perm ? channelOrder : 'original';
  return (
    <>
      <div className="row">
        <label className="check">
          <input
            type="radio"
            checked={shownOrder === 'original'}
            onChange={() => setInspect({ channelOrder: 'original' })}
          />{' '}
          original order
        </label>
        <label className="check" title={site.perm ? undefined : noReorderReason(site)}>
          <input
            type="radio"
            data-testid="order-reordered"
            disabled={!site.perm}
            checked={shownOrder === 'reordered'}
            onChange={() => setInspect({ channelOrder: 'reordered' })}
          />{' '}
          after reorder
        </label>
        {!site.perm && site.clusters > 1 && (
          <span className="hint" data-testid="no-reorder">
            {noReorderReason(site)}
          </span>
        )}
      </div>
      <h3>
        Channel ranges: block {site.layer}, {siteName} — {site.channels} channels, {site.clusters} cluster
        {site.clusters > 1 ? 's' : ''}
        {site.bits < 16 ? `, quantized to ${site.bits} bits` : ''}
      </h3>
      <RangeChart site={site} order={shownOrder} />
      <p className="hint">
        drag to zoom, double-click to reset; each segment spans a channel's min to max over the calibration tokens
      </p>
      {site.clusters > 1 && <ClusterTable site={site} />}
      <h3>Activation quantization error by channel grouping</h3>
      <ActivationErrors sites={sites} site={site.site} />
    </>
  );
}
