// DuQuant's Inspect view of one linear input of one block — the paper's outlier figure, live: max|x| per channel at
// each stage (original, after smoothing, after R₁, after the zigzag permutation, after R₂) side by side on one
// scale; the chosen rotation's first block as a heatmap with its greedy steps and the peak after each step; and the
// per-token activation error before and after the transform across blocks.
import { useMemo, useState } from 'react';
import type { DuquantSiteReport } from '../../quant/duquant.ts';
import { HeatmapChart } from '../charts/HeatmapChart.tsx';
import { SeriesChart } from '../charts/SeriesChart.tsx';
import { diverging } from '../charts/Plot.tsx';
import type { TransformViewProps } from './index.ts';

const STAGE_NAMES: Record<string, string> = {
  original: 'original',
  smoothed: 'smoothed',
  R1: 'after R₁',
  R2: 'after R₂',
  R3: 'after R₃',
};
const stageName = (n: string) => STAGE_NAMES[n] ?? n.replace(/^perm (\d+)$/, 'after perm $1');

function Stages({ report }: { report: DuquantSiteReport }) {
  const x = useMemo(() => report.stages[0].maxAbs.map((_, c) => c), [report]);
  const top = useMemo(() => Math.max(...report.stages.flatMap((s) => s.maxAbs)) * 1.05, [report]);
  return (
    <div className="stages" data-testid="duquant-stages">
      {report.stages.map((s) => (
        <div key={s.name}>
          <h4>
            {stageName(s.name)}: max {Math.max(...s.maxAbs).toPrecision(3)}
          </h4>
          <SeriesChart
            x={x}
            series={[{ label: 'max |x|', values: s.maxAbs }]}
            xLabel="channel"
            yLabel="max |x|"
            bars
            yMax={top}
            testid={`duquant-stage-${s.name.replace(' ', '-')}`}
            height={150}
          />
        </div>
      ))}
    </div>
  );
}

function Rotation({ report }: { report: DuquantSiteReport }) {
  const [pick, setPick] = useState(0);
  const r = report.rotations[Math.min(pick, report.rotations.length - 1)];
  const steps = useMemo(() => r?.peaks.map((_, k) => k) ?? [], [r]);
  // colours span the block's largest |entry| (a spread rotation's entries are all near 1/√n)
  const top = useMemo(() => (r ? Math.max(...r.heat.map(Math.abs)) || 1 : 1), [r]);
  if (!r) return <p className="hint">This run did not rotate (rotations off): the transform is the smoothing alone.</p>;
  return (
    <>
      <div className="row">
        <label>
          rotation{' '}
          <select data-testid="duquant-rotation" value={pick} onChange={(e) => setPick(Number(e.target.value))}>
            {report.rotations.map((x, i) => (
              <option key={x.name} value={i}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <span className="hint" data-testid="duquant-steps">
          {r.steps} greedy step{r.steps === 1 ? '' : 's'} kept of {r.peaks.length - 1}: max − min{' '}
          {r.peaks[0].toPrecision(3)} → {r.peaks[r.steps].toPrecision(3)}
        </span>
      </div>
      <div className="two">
        <div>
          <h4>
            {r.name}, {r.shown < r.n ? `top-left ${r.shown} × ${r.shown} of ` : ''}one {r.n} × {r.n} block
          </h4>
          <HeatmapChart
            rows={r.shown}
            cols={r.shown}
            data={r.heat}
            color={(v) => diverging(v / top)}
            xLabel="output channel"
            yLabel="input channel"
            readout={(i, j, v) => `${r.name}[${i}, ${j}] = ${v.toFixed(4)}`}
            testid="duquant-rotation-heatmap"
            height={220}
          />
        </div>
        <div>
          <h4>max − min after each greedy step (the first minimum is kept)</h4>
          <SeriesChart
            x={steps}
            series={[{ label: 'max − min', values: r.peaks }]}
            xLabel="steps"
            yLabel="max − min"
            integerX
            testid="duquant-peaks"
            height={220}
          />
        </div>
      </div>
    </>
  );
}

function TokenErrors({ reports, site }: { reports: DuquantSiteReport[]; site: string }) {
  const of = useMemo(() => reports.filter((r) => r.site === site && r.error), [reports, site]);
  const x = useMemo(() => of.map((r) => r.layer), [of]);
  const series = useMemo(
    () => [
      { label: 'before the transform', values: of.map((r) => r.error!.before), dash: true },
      { label: 'after (DuQuant)', values: of.map((r) => r.error!.after) },
    ],
    [of],
  );
  if (of.length === 0)
    return (
      <p className="hint">
        Activations stay in full precision in this run (16 bits), so there is no quantization error.
      </p>
    );
  return (
    <SeriesChart
      x={x}
      series={series}
      xLabel="block"
      yLabel="‖x̂ − x‖² / ‖x‖²"
      log
      integerX
      testid="duquant-token-error"
      height={200}
    />
  );
}

export function DuquantView({ reports, layer, site, siteName }: TransformViewProps) {
  const all = reports as DuquantSiteReport[];
  const report = all.find((r) => r.layer === layer && r.site === site);
  if (!report)
    return (
      <p className="hint">
        DuQuant transforms the four linear inputs (attention norm, out_proj input, FFN norm, down_proj input): pick one
        of them.
      </p>
    );
  return (
    <>
      <h3>
        Outliers through DuQuant: block {layer}, {siteName} — {report.channels} channels in rotation blocks of{' '}
        {report.block}
        {report.block < report.channels ? ` (${report.channels / report.block} × ${report.block})` : ''}
      </h3>
      <p className="hint">
        max |x| per channel over the rotation input (the calibration windows' mean, through the quantized blocks
        before), every stage on one scale
      </p>
      <Stages report={report} />
      <h3>Rotation</h3>
      <Rotation report={report} />
      <h3>Per-token activation error before and after the transform</h3>
      <TokenErrors reports={all} site={site} />
    </>
  );
}
