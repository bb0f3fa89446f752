// See what a method did: every layer's output error and bits per weight across blocks; per-channel activation ranges
// at any site of any block — through the transform's own view when it brings one (methods/: RPTQ's clusters, reorder
// and errors per grouping) — an |activation| heatmap over tokens × channels, and a quantized layer's value histogram
// and weight grid next to full precision. Every view belongs to the current result: one computed for another run,
// block or layer is never shown here.
import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { activationKey, current, inspectSites, weightKey } from '../store/inspectSlice.ts';
import { LayerBitsChart, LayerErrorChart } from './LayerErrorChart.tsx';
import { ClipRows, ErrorWithAndWithout, LossCurves } from './ClipTrainingView.tsx';
import type { Family } from '../model/config.ts';
import type { EvalResult } from '../pipeline/types.ts';
import { ACT_SITES, type ActSite } from '../model/taps.ts';
import { familyOfModelType, linearRoles, linearName, type LinearRole } from '../model/families.ts';
import { RangeChart } from './charts/RangeChart.tsx';
import { HeatmapChart } from './charts/HeatmapChart.tsx';
import { SeriesChart } from './charts/SeriesChart.tsx';
import { diverging, heat } from './charts/Plot.tsx';
import { viewOf } from './methods/index.ts';
import { stepOf, transformReport, weightReport } from '../pipeline/types.ts';
import { resolveSteps } from '../quant/recipe.ts';
import type { GridView } from '../pipeline/inspect.ts';

/** The sites as the Inspect panel names them (with RPTQ's reorder points, the seed tables' names for them). */
const SITE_NAMES: Record<ActSite, string> = {
  attn_norm: 'attention-norm output (R1)',
  q: 'q into attention (R2)',
  k: 'K cache (R2)',
  v: 'V cache (R3 clusters)',
  o_in: 'out_proj input (R3)',
  ffn_norm: 'FFN-norm output (R4)',
  down_in: 'fc2 / down_proj input (R5)',
};

/** A site's name without RPTQ's reorder point (other transforms have their own R₁, R₂). */
const plainName = (s: ActSite) => SITE_NAMES[s].replace(/ \(R.*\)$/, '');

/** The run's model family: from the config the run recorded (results from before it: from the model type). */
function familyOf(result: EvalResult): Family {
  return result.modelConfig?.family ?? familyOfModelType(result.modelType).name;
}

function Heatmap() {
  const { activationMap, loadActivationMap, status, runId, key, layer, site } = useLab(
    useShallow((s) => ({
      activationMap: s.activationMap,
      loadActivationMap: s.loadActivationMap,
      status: s.status,
      runId: s.runId,
      key: activationKey(s),
      layer: s.inspectLayer,
      site: s.inspectSite,
    })),
  );
  const shown = current(activationMap, runId, key);
  const m = shown?.data;
  // colours span up to the 99th percentile, so one outlier channel does not wash out the rest
  const top = useMemo(
    () => (m ? Array.from(m.data).sort((a, b) => a - b)[Math.floor(m.data.length * 0.99)] || 1 : 1),
    [m],
  );
  return (
    <>
      <div className="row">
        <button
          data-testid="load-heatmap"
          disabled={status === 'running' || shown?.status === 'loading'}
          onClick={() => void loadActivationMap()}
        >
          {shown?.status === 'loading'
            ? 'Running the model…'
            : `Show |activation| at block ${layer}, ${plainName(site)}`}
        </button>
        <span className="hint">one calibration window of this run through the full-precision model</span>
      </div>
      {shown?.error && <p className="error">{shown.error}</p>}
      {m && (
        <HeatmapChart
          rows={m.rows}
          cols={m.cols}
          data={m.data}
          color={(v) => heat(Math.sqrt(v / top))}
          caption={
            `|activation| at block ${m.layer}, ${plainName(m.site)}: ` + `${m.tokens} tokens × ${m.channels} channels`
          }
          scale={{ lo: 0, hi: top, label: 'max |x| (colour: square root)' }}
          xLabel={
            `channel${m.cols < m.channels ? ` (bins of ${m.channels / m.cols})` : ''}` +
            `${m.reordered ? ', reordered' : ''}`
          }
          yLabel="token"
          readout={(r, c, v) =>
            `token ${Math.floor((r * m.tokens) / m.rows)} "${m.tokenText[r]}" · ` +
            `channels ${Math.floor((c * m.channels) / m.cols)}–` +
            `${Math.floor(((c + 1) * m.channels) / m.cols) - 1} · max |x| ${v.toFixed(3)}`
          }
          testid="heatmap"
        />
      )}
    </>
  );
}

/** A uniform grid's codes, zero points and group scales (RTN and GPTQ runs, GPTQ checkpoints). */
function GridPanel({ grid }: { grid: GridView }) {
  const groupsBy = grid.clusters
    ? ' (each column’s group is its input cluster)'
    : grid.actOrder
      ? ' (in act-order: each column’s group from g_idx)'
      : '';
  const codes = useMemo(
    () => ({ x: grid.codes.map((_, i) => i), series: [{ label: 'weights', values: grid.codes }] }),
    [grid],
  );
  const zeros = useMemo(
    () => ({ x: grid.zeros.map((_, i) => i), series: [{ label: '(row, group) pairs', values: grid.zeros }] }),
    [grid],
  );
  const top = useMemo(() => Math.max(...grid.scales.data) || 1, [grid]);
  return (
    <div data-testid="weight-grid">
      <h4>
        Grid: {grid.bits}-bit codes, {grid.groups} group{grid.groups > 1 ? 's' : ''} per row{groupsBy}
      </h4>
      <div className="two">
        <SeriesChart
          x={codes.x}
          series={codes.series}
          xLabel="code"
          yLabel="weights"
          bars
          integerX
          testid="grid-codes"
          height={160}
          caption="how many weights hold each code"
        />
        <SeriesChart
          x={zeros.x}
          series={zeros.series}
          xLabel="zero point"
          yLabel="groups"
          bars
          integerX
          testid="grid-zeros"
          height={160}
          caption="how many (row, group) pairs hold each zero point"
        />
      </div>
      <h4>
        Group scales (top-left {grid.scales.rows} rows × {grid.scales.cols} groups)
      </h4>
      <HeatmapChart
        rows={grid.scales.rows}
        cols={grid.scales.cols}
        data={grid.scales.data}
        color={(v) => heat(v / top)}
        scale={{ lo: 0, hi: top, label: 'scale' }}
        caption={`group scales of the top-left ${grid.scales.rows} rows × ${grid.scales.cols} groups`}
        xLabel="group"
        yLabel="output row"
        readout={(r, c, v) => `scale[${r}, group ${c}] = ${v.toExponential(3)}`}
        testid="grid-scales"
        height={160}
      />
    </div>
  );
}

function WeightPanel({ roles, family }: { roles: LinearRole[]; family: Family }) {
  const {
    weightView,
    loadWeightView,
    inspectRole,
    setInspect,
    status,
    model,
    resultModel,
    result,
    runId,
    key,
    showWeights,
  } = useLab(
    useShallow((s) => ({
      weightView: s.weightView,
      loadWeightView: s.loadWeightView,
      inspectRole: s.inspectRole,
      setInspect: s.setInspect,
      status: s.status,
      model: s.model,
      resultModel: s.resultModel,
      result: s.result,
      runId: s.runId,
      key: weightKey(s),
      showWeights: s.showWeights,
    })),
  );
  const shown = current(weightView, runId, key);
  // once shown, the weights follow the run, the block and the layer
  const runModel = resultModel ?? model;
  const canLoad = status !== 'running' && !!result && !(runModel.kind === 'files' && runModel.files.length === 0);
  useEffect(() => {
    if (showWeights && canLoad && !shown) void loadWeightView();
  }, [showWeights, canLoad, shown, loadWeightView]);
  const w = shown?.data;
  const report = w && result?.quant?.layers.find((l) => l.layer === w.layer && l.linear === w.linear);
  const overheadBits = report ? (report.bits - report.codeBits).toFixed(2) : '';
  const Own = viewOf(stepOf(result?.quant, 'weight')?.method, 'weight')?.View;
  // the weight step's own baseline (CLAQ: GPTQ at the same code bits), when the run measured it
  const step = result?.config.recipe ? resolveSteps(result.config.recipe).weight : undefined;
  const own = step ? step.baselines().map((b) => b.name) : [];
  const baseline = result?.baselines?.find((b) => own.includes(b.name));
  const hist = useMemo(
    () =>
      w && {
        x: w.histogram.edges.slice(0, -1).map((e, i) => (e + w.histogram.edges[i + 1]) / 2),
        series: [
          { label: 'full precision', values: w.histogram.fp },
          { label: 'quantized', values: w.histogram.quant },
        ],
      },
    [w],
  );
  const scale = useMemo(() => (w ? Math.max(...w.crop.fp.map(Math.abs)) || 1 : 1), [w]);
  return (
    <>
      <div className="row">
        <label>
          layer{' '}
          <select
            data-testid="inspect-role"
            value={inspectRole}
            onChange={(e) => setInspect({ inspectRole: e.target.value as LinearRole })}
          >
            {roles.map((r) => (
              <option key={r} value={r}>
                {linearName(family, r)}
              </option>
            ))}
          </select>
        </label>
        <button
          data-testid="load-weights"
          disabled={!canLoad || shown?.status === 'loading'}
          onClick={() => void loadWeightView()}
        >
          {showWeights ? 'Read the layer again' : 'Show the quantized weights'}
        </button>
        {shown?.status === 'loading' && <span className="hint">reading the layer…</span>}
      </div>
      {shown?.error && <p className="error">{shown.error}</p>}
      {w && hist && (
        <div data-testid="weight-view">
          <p className="hint" data-testid="weight-caption">
            block {w.layer}, {w.linear} [{w.shape[0]} × {w.shape[1]}]:{' '}
            {w.fromCheckpoint ? (
              'dequantized from the GPTQ checkpoint (no full precision to compare with)'
            ) : (
              <>‖W − Ŵ‖/‖W‖ = {w.relError.toFixed(4)}</>
            )}
            , {w.levelsPerRow.toFixed(1)} distinct values per row
          </p>
          {report && report.groups > 0 && (
            <p className="hint" data-testid="weight-bits">
              Each row has {report.groups} group{report.groups > 1 ? 's' : ''} with its own f16 scale and zero
              {report.groups > 1
                ? `, so up to ${report.groups} × ${2 ** report.codeBits} ` +
                  `= ${report.groups * 2 ** report.codeBits} distinct values per row`
                : ` (up to ${2 ** report.codeBits} values)`}
              . Bits per weight {report.bits.toFixed(2)} = {report.codeBits} for the codes + {overheadBits} for the
              scales and zeros (32 bits × {report.groups} groups ÷ {w.shape[1]} columns).
            </p>
          )}
          {Own && w.detail !== undefined && (
            <Own detail={w.detail} linear={w.linear} layers={result!.quant!.layers} baseline={baseline} />
          )}
          <SeriesChart
            x={hist.x}
            series={hist.series}
            xLabel="weight value"
            yLabel="count"
            bars
            testid="weight-histogram"
            height={180}
            caption={`${w.linear}: histogram of weight values, full precision and quantized`}
          />
          {w.clip && <ClipRows up={w.clip.up} low={w.clip.low} groups={w.clip.groups} linear={w.linear} />}
          {w.grid && <GridPanel grid={w.grid} />}
          <div className="two">
            {(['fp', 'quant'] as const).map((k) => (
              <div key={k}>
                <h4>
                  {k === 'fp' ? 'full precision' : 'quantized'} (top-left {w.crop.rows} × {w.crop.cols})
                </h4>
                <HeatmapChart
                  rows={w.crop.rows}
                  cols={w.crop.cols}
                  data={w.crop[k]}
                  color={(v) => diverging(v / scale)}
                  scale={{ lo: -scale, hi: scale, label: 'weight' }}
                  caption={
                    `${k === 'fp' ? 'full-precision' : 'quantized'} weights of ${w.linear}, ` +
                    `top-left ${w.crop.rows} × ${w.crop.cols}`
                  }
                  xLabel="input column"
                  yLabel="output row"
                  readout={(r, c, v) =>
                    `W[${r}, ${c}] = ${v.toFixed(5)}` +
                    `${k === 'quant' ? ` (full precision ${w.crop.fp[r * w.crop.cols + c].toFixed(5)})` : ''}`
                  }
                  testid={`weight-grid-${k}`}
                  height={200}
                />
              </div>
            ))}
          </div>
        </div>
      )}
    </>
  );
}

/** A GPTQ checkpoint evaluated as it is: no run to report, but its packed layers can be looked at. */
function CheckpointPanel({ roles, family }: { roles: LinearRole[]; family: Family }) {
  const { result, probe, inspectLayer, setInspect } = useLab(
    useShallow((s) => ({ result: s.result, probe: s.probe, inspectLayer: s.inspectLayer, setInspect: s.setInspect })),
  );
  const c = result!.checkpoint!;
  const layers = result!.modelConfig?.layers ?? probe.info?.layers ?? 0;
  return (
    <>
      <p className="hint" data-testid="inspect-checkpoint">
        A GPTQ checkpoint: W{c.bits}
        {c.groupSize > 0 ? ` g${c.groupSize}` : ' per row'}
        {c.descAct ? ', act-order' : ''}
        {c.sym ? ', symmetric' : ''}. Each layer below is unpacked from its qweight, qzeros, scales and g_idx.
      </p>
      <div className="row">
        <label>
          block{' '}
          <select
            data-testid="inspect-layer"
            value={inspectLayer}
            onChange={(e) => setInspect({ inspectLayer: Number(e.target.value) })}
          >
            {Array.from({ length: layers }, (_, b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
      </div>
      <WeightPanel roles={roles} family={family} />
    </>
  );
}

/** Learnable weight clipping, when the run trained its clip: the loss curves and the error it saved per layer. */
function ClipTrainingPanel() {
  const result = useLab((s) => s.result);
  const report = weightReport(result?.quant)?.clipTraining;
  if (!report || !result?.quant) return null;
  const epochs = Math.max(1, ...report.blocks.map((b) => b.losses.length));
  return (
    <>
      <h3>Learnable clipping</h3>
      {report.note && (
        <p className="hint" data-testid="lwc-note">
          {report.note}
        </p>
      )}
      {report.blocks.length > 0 && <LossCurves blocks={report.blocks} epochs={epochs} />}
      <ErrorWithAndWithout layers={result.quant.layers} />
    </>
  );
}

export function InspectPanel() {
  const { result, inspectLayer, inspectSite, setInspect } = useLab(
    useShallow((s) => ({
      result: s.result,
      inspectLayer: s.inspectLayer,
      inspectSite: s.inspectSite,
      setInspect: s.setInspect,
    })),
  );
  const sites = inspectSites(result?.quant);
  const blocks = [...new Set((result?.quant?.layers ?? []).map((l) => l.layer))];
  const site = sites.find((s) => s.layer === inspectLayer && s.site === inspectSite);
  const family = result ? familyOf(result) : 'llama';
  const roles = result ? linearRoles(family) : [];
  const transform = stepOf(result?.quant, 'transform')?.method;
  const View = viewOf(transform, 'sites')?.View;
  const Own = viewOf(transform, 'transform');
  const siteChoices = Own?.sites ?? ACT_SITES;
  return (
    <section className="panel wide" data-testid="inspect-panel">
      <h2>Inspect</h2>
      {!result?.quant && result?.checkpoint ? (
        <CheckpointPanel roles={roles} family={family} />
      ) : !result?.quant ? (
        <p className="hint">
          Run a quantization (any method) to see every block's activation ranges, clusters and errors here.
        </p>
      ) : (
        <>
          <h3>Layers across blocks</h3>
          <LayerErrorChart layers={result.quant.layers} />
          <LayerBitsChart layers={result.quant.layers} />
          <ClipTrainingPanel />
          <div className="row">
            <label>
              block{' '}
              <select
                data-testid="inspect-layer"
                value={inspectLayer}
                onChange={(e) => setInspect({ inspectLayer: Number(e.target.value) })}
              >
                {blocks.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </label>
            <label>
              site{' '}
              <select
                data-testid="inspect-site"
                value={inspectSite}
                onChange={(e) => setInspect({ inspectSite: e.target.value as ActSite })}
              >
                {siteChoices.map((s) => (
                  <option key={s} value={s}>
                    {Own ? plainName(s) : SITE_NAMES[s]}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {Own ? (
            <Own.View
              reports={transformReport(result.quant)?.blocks ?? []}
              layer={inspectLayer}
              site={inspectSite}
              siteName={plainName(inspectSite)}
            />
          ) : !site ? (
            <p className="hint">No statistics for this block and site.</p>
          ) : View ? (
            <View sites={sites} site={site} siteName={SITE_NAMES[site.site]} />
          ) : (
            <>
              <h3>
                Channel ranges: block {site.layer}, {SITE_NAMES[site.site]} — {site.channels} channels
              </h3>
              <RangeChart site={site} order="original" />
              <p className="hint">
                drag to zoom, double-click to reset; each segment spans a channel's min to max over the calibration
                tokens
              </p>
            </>
          )}
          <h3>Activations over tokens</h3>
          <Heatmap />
          <h3>Quantized weights</h3>
          <WeightPanel roles={roles} family={family} />
        </>
      )}
    </section>
  );
}
