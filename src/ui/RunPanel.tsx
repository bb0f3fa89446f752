// Run / cancel, a progress bar with elapsed time and an estimate, the error or the results.
import { useEffect, useState } from 'react';
import { recipeProblem, useLab } from '../store/labStore.ts';
import { LayerErrorChart } from './LayerErrorChart.tsx';

function fmt(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function RunPanel() {
  const state = useLab();
  const { status, progress, startedAt, result, error, run, cancel } = state;
  const [now, setNow] = useState(performance.now());
  useEffect(() => {
    if (status !== 'running') return;
    const t = setInterval(() => setNow(performance.now()), 500);
    return () => clearInterval(t);
  }, [status]);
  const invalid = recipeProblem(state) !== null;
  const elapsed = startedAt ? now - startedAt : 0;
  const frac = progress && progress.stage !== 'load' ? progress.fraction : 0;
  const eta = frac > 0.02 ? (elapsed / frac) * (1 - frac) : null;

  return (
    <section className="panel wide">
      <h2>Run</h2>
      <div className="row">
        <button data-testid="run" onClick={() => void run()} disabled={status === 'running' || invalid}>
          Run
        </button>
        <button data-testid="cancel" onClick={cancel} disabled={status !== 'running'}>
          Cancel
        </button>
        <span data-testid="status" className={`status ${status}`}>
          {status}
        </span>
      </div>
      {status === 'running' && (
        <div className="progress">
          <progress data-testid="progress" max={1} value={frac} />
          <span>
            {progress?.label ?? 'starting worker…'} · {fmt(elapsed)}
            {eta !== null && ` · about ${fmt(eta)} left`}
          </span>
        </div>
      )}
      {error && (
        <p className="error" role="alert" data-testid="error">
          <strong>{error.kind}:</strong> {error.message}
        </p>
      )}
      {result && (
        <div data-testid="result">
          <table>
            <thead>
              <tr>
                <th>dataset</th>
                <th>windows</th>
                {result.pplBefore && <th>FP</th>}
                <th>{result.config.recipe ? `${result.config.recipe.method.toUpperCase()} W${result.config.recipe.wbits}` : 'perplexity'}</th>
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
                </tr>
              ))}
            </tbody>
          </table>
          <p className="hint">
            {result.modelType}, {(result.parameters / 1e6).toFixed(2)}M parameters, seqlen {result.config.seqlen} · {result.timings.tokensPerSecond.toFixed(0)} tokens/s on{' '}
            {result.device?.description}
            {result.device?.software && ' (software adapter)'} · peak GPU memory in use {(result.peakGpuBytes / 2 ** 20).toFixed(1)} MiB
          </p>
          {result.quant && (
            <>
              <h3>Per-layer output error</h3>
              <LayerErrorChart layers={result.quant.layers} />
              <p className="hint">
                {result.quant.layers.length} layers quantized in {(result.quant.totalMs / 1000).toFixed(1)} s on {result.quant.calibrationTokens} calibration tokens
              </p>
            </>
          )}
        </div>
      )}
    </section>
  );
}
