// Every run so far (kept across reloads): configuration, perplexity per dataset and its change from full precision,
// bits per weight, time. Two ticked runs are compared side by side; the table downloads as CSV or JSON.
import { useLab } from '../store/labStore.ts';
import { runsToCsv, type RunRecord } from '../store/resultsSlice.ts';
import { describeModel, describeSpec } from '../pipeline/experimentSpec.ts';

function download(name: string, type: string, text: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function Compare({ a, b }: { a: RunRecord; b: RunRecord }) {
  const datasets = [...new Set([...Object.keys(a.summary.ppl), ...Object.keys(b.summary.ppl)])];
  const rows: [string, string, string][] = [
    ['model', describeModel(a.spec.model), describeModel(b.spec.model)],
    ['method', a.summary.label, b.summary.label],
    ['bits per weight', a.summary.bitsPerWeight?.toFixed(2) ?? '16', b.summary.bitsPerWeight?.toFixed(2) ?? '16'],
    ['calibration', `${a.spec.recipe.calib} ${a.spec.recipe.nsamples}×${a.spec.recipe.seqlen}`, `${b.spec.recipe.calib} ${b.spec.recipe.nsamples}×${b.spec.recipe.seqlen}`],
    ['quantization time', a.summary.quantizeMs ? `${(a.summary.quantizeMs / 1000).toFixed(1)} s` : '', b.summary.quantizeMs ? `${(b.summary.quantizeMs / 1000).toFixed(1)} s` : ''],
  ];
  return (
    <table data-testid="compare">
      <thead>
        <tr>
          <th></th>
          <th>A</th>
          <th>B</th>
          <th>B − A</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([k, x, y]) => (
          <tr key={k}>
            <td>{k}</td>
            <td>{x}</td>
            <td>{y}</td>
            <td></td>
          </tr>
        ))}
        {datasets.map((ds) => {
          const x = a.summary.ppl[ds as keyof typeof a.summary.ppl];
          const y = b.summary.ppl[ds as keyof typeof b.summary.ppl];
          return (
            <tr key={ds}>
              <td>{ds} perplexity</td>
              <td>{x?.toFixed(4) ?? '—'}</td>
              <td>{y?.toFixed(4) ?? '—'}</td>
              <td>{x !== undefined && y !== undefined ? `${y - x >= 0 ? '+' : ''}${(y - x).toFixed(4)}` : ''}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ResultsPanel() {
  const { runs, compare, toggleCompare, removeRun, clearRuns } = useLab();
  const picked = compare.map((id) => runs.find((r) => r.id === id)).filter(Boolean) as RunRecord[];
  return (
    <section className="panel wide" data-testid="results-panel">
      <h2>Results</h2>
      {runs.length === 0 ? (
        <p className="hint">Finished runs appear here and stay after a reload.</p>
      ) : (
        <>
          <div className="row">
            <button onClick={() => download('quantization-lab-runs.csv', 'text/csv', runsToCsv(runs))} data-testid="download-csv">
              Download CSV
            </button>
            <button onClick={() => download('quantization-lab-runs.json', 'application/json', JSON.stringify(runs, null, 2))}>Download JSON</button>
            <button onClick={clearRuns}>Clear the table</button>
            <span className="hint">tick two runs to compare them</span>
          </div>
          <div className="scroll">
            <table data-testid="runs-table">
              <thead>
                <tr>
                  <th>compare</th>
                  <th>when</th>
                  <th>model</th>
                  <th>method</th>
                  <th>perplexity (Δ to FP)</th>
                  <th>bits/weight</th>
                  <th>time</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id} title={describeSpec(r.spec)}>
                    <td>
                      <input type="checkbox" checked={compare.includes(r.id)} onChange={() => toggleCompare(r.id)} aria-label="compare" />
                    </td>
                    <td>{new Date(r.at).toLocaleTimeString()}</td>
                    <td>{describeModel(r.spec.model)}</td>
                    <td>
                      {r.summary.label}
                      {r.shared ? ' (shared)' : ''}
                      {r.cached ? ' (cached)' : ''}
                    </td>
                    <td>
                      {Object.entries(r.summary.ppl).map(([ds, v]) => {
                        const fp = r.summary.pplBefore?.[ds as keyof typeof r.summary.ppl];
                        return (
                          <div key={ds}>
                            {ds} {v!.toFixed(3)}
                            {fp !== undefined && ` (${v! - fp >= 0 ? '+' : ''}${(v! - fp).toFixed(3)})`}
                          </div>
                        );
                      })}
                    </td>
                    <td>{r.summary.bitsPerWeight?.toFixed(2) ?? '16'}</td>
                    <td>{r.shared ? '' : `${(r.wallMs / 1000).toFixed(1)} s`}</td>
                    <td>
                      <button className="link" onClick={() => removeRun(r.id)} aria-label="remove">
                        ✕
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {picked.length === 2 && <Compare a={picked[0]} b={picked[1]} />}
        </>
      )}
    </section>
  );
}
