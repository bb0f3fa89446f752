// Run / cancel and what the next run is; while it runs, its stages in the order they run, each once, with a time
// estimate only once a stage has a basis; then the result under the experiment that produced it (said when the form
// has changed since), its figures, where its bits go, a share link and the export of a quantized run.
import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import {
  kindOf,
  type QuantSummary,
  type Stage,
  type TransformStepReport,
  type WeightStepReport,
} from '../pipeline/types.ts';
import { METHODS } from '../quant/index.ts';
import { recipeLabel } from '../quant/recipe.ts';
import { describeSpec } from '../pipeline/experimentSpec.ts';
import { canonicalJson } from '../pipeline/cache.ts';
import { bitsSplit, sizeLine, summarize } from '../store/resultsSlice.ts';
import { resumeHint, runBlocker } from '../store/runGate.ts';
import { timeLeft } from '../store/progressEstimate.ts';
import { errorLead, pageMessage } from '../store/pageWords.ts';
import { bitsNote } from '../pipeline/bits.ts';
import { fmtBytes } from '../gpu/gpu.ts';
import type { EvalResult } from '../pipeline/types.ts';
import { TaskProgress, TaskTable } from './TaskResults.tsx';
import { ExportPanel } from './ExportPanel.tsx';
import { LossCurves } from './ClipTrainingView.tsx';

function fmt(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const STAGE_NAMES: Record<Stage, string> = {
  load: 'download and load',
  fp: 'evaluate full precision',
  quantize: 'calibrate and quantize',
  evaluate: 'evaluate',
  baselines: 'baselines',
};

/**
 * Each step with what its report says about time: "RPTQ 2.3 s → GPTQ (Hessians 1.1 s, factorization 0.0 s,
 * column loop 0.1 s)".
 */
function stepsSummary(q: QuantSummary): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return q.steps
    .map((st) => {
      const title = METHODS[st.method]?.title ?? st.method;
      if (kindOf(st) === 'transform') {
        const r = st.report as TransformStepReport;
        return `${title} (statistics, fold and quantizers ${s(r.ms)})`;
      }
      const r = st.report as WeightStepReport;
      if (r.hessianMs + r.factorMs > 0)
        return `${title} (Hessians ${s(r.hessianMs)}, factorization ${s(r.factorMs)}, column loop ${s(r.loopMs)})`;
      return title;
    })
    .join(' → ');
}

function ShareButtons() {
  const { makeLink, hasResult } = useLab(useShallow((s) => ({ makeLink: s.makeLink, hasResult: s.result !== null })));
  const [link, setLink] = useState('');
  const [copied, setCopied] = useState('');
  const share = async (withResults: boolean) => {
    const url = await makeLink(withResults);
    setLink(url);
    const ok = await (navigator.clipboard?.writeText(url).then(
      () => true,
      () => false,
    ) ?? Promise.resolve(false));
    setCopied(
      ok
        ? `Copied the link${withResults ? ' with the results' : ''} to the clipboard.`
        : 'The browser did not allow copying: select the link below and copy it.',
    );
  };
  return (
    <>
      <div className="row">
        <button data-testid="share" onClick={() => void share(false)}>
          Copy share link
        </button>
        {hasResult && (
          <button data-testid="share-results" onClick={() => void share(true)}>
            Copy share link with results
          </button>
        )}
        {copied && (
          <span className="hint" role="status" data-testid="share-copied">
            {copied}
          </span>
        )}
      </div>
      {link && (
        <input
          readOnly
          className="share-url"
          aria-label="share link"
          data-testid="share-url"
          value={link}
          onFocus={(e) => e.target.select()}
        />
      )}
    </>
  );
}

/** Learnable weight clipping's loss curves as the run trains them, block by block. */
function TrainingProgress() {
  const { training, status } = useLab(useShallow((s) => ({ training: s.training, status: s.status })));
  if (!training || status !== 'running') return null;
  return <LossCurves blocks={training.blocks} epochs={training.epochs} live />;
}

/** The stages of the run in the order they run, each once: done, running, or waiting. */
function Stages() {
  const { plan, current, stages, startedAt, status, chain } = useLab(
    useShallow((s) => ({
      plan: s.plan,
      current: s.current,
      stages: s.stages,
      startedAt: s.startedAt,
      status: s.status,
      chain: s.chain,
    })),
  );
  const [now, setNow] = useState(performance.now());
  useEffect(() => {
    if (status !== 'running') return;
    setNow(performance.now());
    const t = setInterval(() => setNow(performance.now()), 500);
    return () => clearInterval(t);
  }, [status]);
  const at = current ? plan.indexOf(current) : -1;
  const active = current ? stages[current] : undefined;
  const left = current && current !== 'load' ? timeLeft(active, now) : null;
  const elapsed = startedAt !== null ? Math.max(0, now - startedAt) : 0;
  return (
    <div className="progress" data-testid="stages">
      {plan.map((stage, i) => {
        const p = stages[stage];
        const state = i < at ? 'done' : i === at ? 'active' : 'waiting';
        const name = stage === 'evaluate' && chain !== 'fp' ? 'evaluate quantized' : STAGE_NAMES[stage];
        return (
          <div key={stage} className={`stage ${state}`} data-testid={`stage-${stage}`} data-state={state}>
            <span className="stage-name">{name}</span>
            {/* indeterminate only while the load has no byte total yet */}
            <progress
              aria-label={name}
              data-testid={state === 'active' ? 'progress' : `progress-${stage}`}
              max={1}
              value={
                state === 'done'
                  ? 1
                  : state === 'waiting'
                    ? 0
                    : stage === 'load' && p && !p.totalBytes && p.fraction < 1
                      ? undefined
                      : (p?.fraction ?? 0)
              }
            />
            <span className="hint">
              {state === 'done'
                ? p?.fromCache
                  ? p.label
                  : 'done'
                : state === 'active'
                  ? (p?.label ?? 'starting…')
                  : 'waiting'}
            </span>
          </div>
        );
      })}
      <TaskProgress />
      <TrainingProgress />
      <span className="hint" data-testid="eta">
        {active?.label ?? 'starting the worker…'} · {fmt(elapsed)} elapsed
        {left !== null && left >= 500 ? ` · about ${fmt(left)} left in this stage` : ''}
      </span>
    </div>
  );
}

function RunError() {
  const error = useLab((s) => s.error);
  if (!error) return null;
  const lead = errorLead(error.kind);
  return (
    <p className="error" role="alert" data-testid="error" data-kind={error.kind}>
      {lead && <strong>{lead}: </strong>}
      {pageMessage(error.message)}
    </p>
  );
}

function Result() {
  const { result, resultSpec, resultBundle } = useLab(
    useShallow((s) => ({ result: s.result, resultSpec: s.resultSpec, resultBundle: s.resultBundle })),
  );
  const stale = useLab((s) => s.resultSpec !== null && canonicalJson(s.resultSpec) !== canonicalJson(s.spec()));
  if (!result) return null;
  const spec = resultSpec;
  const summary = spec ? summarize(spec, result) : null;
  const label = result.config.recipe ? recipeLabel(result.config.recipe) : 'perplexity';
  return (
    <div data-testid="result" className="result-head">
      <p className="current-line">
        <span className="label">Result of</span>
        <span data-testid="result-config">{spec ? describeSpec(spec) : result.model}</span>
      </p>
      {stale && (
        <p className="note" data-testid="result-stale">
          The form has changed since this run: these figures are the experiment above. Run measures the new settings.
        </p>
      )}
      {resultBundle !== null && (
        <p className="ok" data-testid="from-bundle">
          Imported from the bundle "{resultBundle}": the figures and reports as the bundle recorded them, the quantized
          weights back in this browser's storage (nothing recomputed).
        </p>
      )}
      {result.cached && resultBundle === null && (
        <p className="ok" data-testid="from-cache">
          An identical experiment ran before in this browser: these figures come from the cache.
        </p>
      )}
      {result.fpCached && !result.cached && resultBundle === null && (
        <p className="ok" data-testid="fp-from-cache">
          {result.pplBefore || result.tasksBefore ? 'The full-precision figures' : 'These figures'} come from the cache:
          the same full-precision evaluation ran before in this browser.
        </p>
      )}
      {[...(result.caveats ?? []), ...(result.warnings ?? [])].map((w) => (
        <p key={w} className="error" data-testid="warning">
          ⚠ {w}
        </p>
      ))}
      {Object.keys(result.ppl).length > 0 && (
        <div className="table-scroll">
          <table data-testid="ppl-table">
            <caption className="hint">perplexity</caption>
            <thead>
              <tr>
                <th>dataset</th>
                <th>windows</th>
                {result.pplBefore && <th>FP</th>}
                <th>{label}</th>
                {result.baselines?.map((b) => (
                  <th key={b.name}>{b.label}</th>
                ))}
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
                  {result.baselines?.map((b) => (
                    <td key={b.name}>{b.ppl[ds]?.toFixed(4)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <TaskTable result={result} />
      <p className="hint">
        {result.modelType}, {(result.parameters / 1e6).toFixed(2)}M parameters, seqlen {result.config.seqlen} ·{' '}
        {result.timings.tokensPerSecond > 0 ? `${result.timings.tokensPerSecond.toFixed(0)} tokens/s on ` : 'on '}
        {result.device?.description}
        {result.device?.software && ' (software adapter)'} · peak GPU memory in use{' '}
        {(result.peakGpuBytes / 2 ** 20).toFixed(1)} MiB
      </p>
      {result.quant && summary && (
        <>
          <p className="hint" data-testid="steps-summary">
            steps: {stepsSummary(result.quant)}
          </p>
          <p className="hint" data-testid="quant-summary">
            {result.quant.layers.length} layers quantized in {(result.quant.totalMs / 1000).toFixed(1)} s on{' '}
            {result.quant.calibrationTokens} calibration tokens · bits per weight {bitsSplit(summary)}
            {result.quant.cachedBlocks
              ? ` · ${result.quant.cachedBlocks} block${result.quant.cachedBlocks > 1 ? 's' : ''}` +
                ' restored from the cache'
              : ''}
          </p>
          {bitsNote(result.quant.layers) && (
            <p className="hint" data-testid="bits-note">
              {bitsNote(result.quant.layers)}
            </p>
          )}
          {sizeLine(summary) && (
            <p className="hint" data-testid="stored-size">
              {sizeLine(summary)}
            </p>
          )}
          {result.gpuLayers && (
            <p className="hint" data-testid="gpu-layers">
              {gpuLayersLine(result.gpuLayers)}
            </p>
          )}
          <ExportPanel />
        </>
      )}
    </div>
  );
}

/** "on the GPU, the decoder's layers take 0.35 MiB quantized, 0.27× the 1.31 MiB they took as loaded" */
function gpuLayersLine(g: NonNullable<EvalResult['gpuLayers']>): string {
  const ratio = g.quantizedBytes / g.loadedBytes;
  return (
    `on the GPU, the decoder's layers take ${fmtBytes(g.quantizedBytes)} quantized, ${ratio.toFixed(2)}× the ` +
    `${fmtBytes(g.loadedBytes)} they took as loaded` +
    (ratio < 1 ? ' (kept packed: codes, scales and zero points)' : ' (kept dense)') +
    (g.predictedBytes !== undefined ? `; predicted ${fmtBytes(g.predictedBytes)}` : '')
  );
}

export function RunPanel() {
  const { status, startedAt, finishedAt, run, cancel } = useLab(
    useShallow((s) => ({
      status: s.status,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      run: s.run,
      cancel: s.cancel,
    })),
  );
  const blocker = useLab(runBlocker);
  const resume = useLab((s) => resumeHint(s)?.text ?? null);
  const configLine = useLab((s) => describeSpec(s.spec()));
  return (
    <section className="panel" data-testid="run-panel">
      <h2>Run</h2>
      <div className="row">
        <button
          data-testid="run"
          onClick={() => void run()}
          disabled={status === 'running' || blocker !== null}
          title={blocker ?? undefined}
        >
          Run
        </button>
        <button data-testid="cancel" onClick={cancel} disabled={status !== 'running'}>
          Cancel
        </button>
        <span data-testid="status" className={`status ${status}`}>
          {status}
        </span>
        {status !== 'idle' && status !== 'running' && startedAt !== null && finishedAt !== null && (
          <span className="hint">{fmt(finishedAt - startedAt)}</span>
        )}
      </div>
      <p className="current-line">
        <span className="label">{status === 'running' ? 'Running' : 'Next run'}</span>
        <span data-testid="config-line">{configLine}</span>
      </p>
      {blocker && status !== 'running' && (
        <p className="hint" data-testid="run-blocked">
          Run is off: {blocker}
        </p>
      )}
      {resume && (
        <p className="note" data-testid="resume-hint">
          {resume}
        </p>
      )}
      {status === 'running' && <Stages />}
      <RunError />
      <ShareButtons />
      <Result />
    </section>
  );
}
