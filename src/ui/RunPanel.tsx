// Run / cancel, a progress bar per stage with elapsed time and an estimate, then the figures, the per-layer errors,
// a share link and the export of a quantized run (ExportPanel).
import { useEffect, useState } from 'react';
import { recipeProblem, useLab } from '../store/labStore.ts';
import type { QuantSummary, Stage, TransformStepReport, WeightStepReport } from '../pipeline/types.ts';
import { METHODS } from '../quant/index.ts';
import { recipeLabel } from '../quant/recipe.ts';
import { describeSpec } from '../pipeline/experimentSpec.ts';
import { LayerErrorChart } from './LayerErrorChart.tsx';
import { bitsSplit, summarize } from '../store/resultsSlice.ts';
import { TaskProgress, TaskTable } from './TaskResults.tsx';
import { ExportPanel } from './ExportPanel.tsx';

function fmt(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const STAGES: { stage: Stage; label: string }[] = [
  { stage: 'load', label: 'download and load' },
  { stage: 'quantize', label: 'calibrate and quantize' },
  { stage: 'evaluate', label: 'evaluate' },
];

/** Each step with what its report says about time: "RPTQ 2.3 s → GPTQ (Hessians 1.1 s, factorization 0.0 s, column loop 0.1 s)". */
function stepsSummary(q: QuantSummary): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return q.steps
    .map((st) => {
      const title = METHODS[st.method]?.title ?? st.method;
      const r = st.report as Partial<TransformStepReport & WeightStepReport>;
      if (typeof r.ms === 'number') return `${title} (statistics, fold and quantizers ${s(r.ms)})`;
      if (typeof r.hessianMs === 'number' && r.hessianMs + r.factorMs! > 0) return `${title} (Hessians ${s(r.hessianMs)}, factorization ${s(r.factorMs!)}, column loop ${s(r.loopMs!)})`;
      return title;
    })
    .join(' → ');
}

function ShareButtons() {
  const { makeLink, result } = useLab();
  const [link, setLink] = useState('');
  const share = async (withResults: boolean) => {
    const url = await makeLink(withResults);
    setLink(url);
    await navigator.clipboard?.writeText(url).catch(() => {});
  };
  return (
    <div className="row">
      <button data-testid="share" onClick={() => void share(false)}>
        Copy share link
      </button>
      {result && (
        <button data-testid="share-results" onClick={() => void share(true)}>
          Copy share link with results
        </button>
      )}
      {link && <input readOnly className="share-url" data-testid="share-url" value={link} onFocus={(e) => e.target.select()} />}
    </div>
  );
}

export function RunPanel() {
  const state = useLab();
  const { status, progress, stages, startedAt, finishedAt, result, error, run, cancel, chain, resultBundle, exporting } = state;
  const [now, setNow] = useState(performance.now());
  useEffect(() => {
    if (status !== 'running') return;
    setNow(performance.now());
    const t = setInterval(() => setNow(performance.now()), 500);
    return () => clearInterval(t);
  }, [status]);
  const invalid = recipeProblem(state) !== null;
  // the clock ticks every half second: never show a time from before the run started
  const elapsed = startedAt ? Math.max(0, (status === 'running' ? now : (finishedAt ?? now)) - startedAt) : 0;
  // the estimate follows the stage that is running: its fraction done and the time spent since it started
  const current = progress?.stage;
  const frac = progress && progress.stage !== 'load' ? progress.fraction : 0;
  const inStage = current && stages[current] ? Math.max(0, now - stages[current]!.since) : 0;
  const eta = frac > 0.02 && frac < 1 ? (inStage / frac) * (1 - frac) : null;
  const quantizes = chain !== 'fp';

  return (
    <section className="panel wide">
      <h2>Run</h2>
      <p className="hint" data-testid="config-line">
        {describeSpec(state.spec())}
      </p>
      <div className="row">
        {/* an export in flight shares the worker (Cancel would end it too) */}
        <button data-testid="run" onClick={() => void run()} disabled={status === 'running' || invalid || exporting.status === 'running'}>
          Run
        </button>
        <button data-testid="cancel" onClick={cancel} disabled={status !== 'running'}>
          Cancel
        </button>
        <span data-testid="status" className={`status ${status}`}>
          {status}
        </span>
        {status !== 'idle' && startedAt !== null && <span className="hint">{fmt(elapsed)}</span>}
      </div>
      {status === 'running' && (
        <div className="progress">
          {STAGES.filter((s) => quantizes || s.stage !== 'quantize').map(({ stage, label }) => {
            const p = stages[stage];
            const done = current && STAGES.findIndex((x) => x.stage === current) > STAGES.findIndex((x) => x.stage === stage);
            return (
              <div key={stage} className={`stage ${current === stage ? 'active' : ''}`}>
                <span className="stage-name">{label}</span>
                {/* indeterminate only while the load has no byte total yet */}
                <progress data-testid={current === stage ? 'progress' : `progress-${stage}`} max={1} value={done ? 1 : stage === 'load' && p && !p.totalBytes && p.fraction < 1 ? undefined : (p?.fraction ?? 0)} />
                <span className="hint">{p?.label ?? (done ? 'done' : current === stage ? 'starting…' : '')}</span>
              </div>
            );
          })}
          <TaskProgress />
          <span className="hint" data-testid="eta">
            {progress?.label ?? 'starting worker…'} · {fmt(elapsed)} elapsed{eta !== null && ` · about ${fmt(eta)} left in this stage`}
          </span>
        </div>
      )}
      {error && (
        <p className="error" role="alert" data-testid="error">
          <strong>{error.kind}:</strong> {error.message}
        </p>
      )}
      <ShareButtons />
      {result && (
        <div data-testid="result">
          {resultBundle !== null && (
            <p className="ok" data-testid="from-bundle">
              Imported from the bundle "{resultBundle}": the figures and reports as the bundle recorded them, the quantized weights back in this browser's storage (nothing recomputed).
            </p>
          )}
          {result.cached && resultBundle === null && (
            <p className="ok" data-testid="from-cache">
              An identical experiment ran before in this browser: these figures come from the cache.
            </p>
          )}
          {[...(result.caveats ?? []), ...(result.warnings ?? [])].map((w) => (
            <p key={w} className="error" data-testid="warning">
              ⚠ {w}
            </p>
          ))}
          {Object.keys(result.ppl).length > 0 && (
          <table>
            <thead>
              <tr>
                <th>dataset</th>
                <th>windows</th>
                {result.pplBefore && <th>FP</th>}
                <th>{result.config.recipe ? recipeLabel(result.config.recipe) : 'perplexity'}</th>
                {result.baselines?.map((b) => <th key={b.name}>{b.label}</th>)}
              </tr>
            </thead>
            <tbody>
              {Object.entries(result.ppl).map(([ds, v]) => (
                <tr key={ds}>
                  <td>{ds}</td>
                  <td>{result.windows[ds]}</td>
                  {result.pplBefore && <td data-testid={`ppl-fp-${ds}`}>{result.pplBefore[ds].toFixed(4)}</td>}
                  <td data-testid={`ppl-${ds}`} data-value={v}>
                    {v.toFixed(4)}
                  </td>
                  {result.baselines?.map((b) => <td key={b.name}>{b.ppl[ds]?.toFixed(4)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
          )}
          <TaskTable result={result} />
          <p className="hint">
            {result.modelType}, {(result.parameters / 1e6).toFixed(2)}M parameters, seqlen {result.config.seqlen} · {result.timings.tokensPerSecond.toFixed(0)} tokens/s on{' '}
            {result.device?.description}
            {result.device?.software && ' (software adapter)'} · peak GPU memory in use {(result.peakGpuBytes / 2 ** 20).toFixed(1)} MiB
          </p>
          {result.quant && (
            <>
              <h3>Per-layer output error (weights)</h3>
              <LayerErrorChart layers={result.quant.layers} />
              <p className="hint" data-testid="steps-summary">
                steps: {stepsSummary(result.quant)}
              </p>
              <p className="hint" data-testid="quant-summary">
                {result.quant.layers.length} layers quantized in {(result.quant.totalMs / 1000).toFixed(1)} s on {result.quant.calibrationTokens} calibration tokens · bits per weight{' '}
                {bitsSplit(summarize(state.spec(), result))}
                {result.quant.cachedBlocks ? ` · ${result.quant.cachedBlocks} block${result.quant.cachedBlocks > 1 ? 's' : ''} restored from the cache` : ''}
              </p>
              <ExportPanel />
            </>
          )}
        </div>
      )}
    </section>
  );
}
