// Every run so far (kept across reloads), newest on top: the experiment's settings (one compact config cell),
// perplexity per dataset and its change from full precision, bits per weight with its split and the stored size,
// time. The table grows with its rows (the column scrolls, not a box inside it). Two ticked runs are compared side by
// side with the settings that differ highlighted; the table downloads as CSV or JSON with every option.
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { bitsSplit, runsToCsv, runsToJson, type RunRecord } from '../store/resultsSlice.ts';
import { describeModel, describeSpec, specFields } from '../pipeline/experimentSpec.ts';
import { fmtBytes } from '../gpu/gpu.ts';

const signed = (d: number, digits: number) => `${d >= 0 ? '+' : ''}${d.toFixed(digits)}`;

/** "0.55 MiB (0.52×)": the quantized model's stored size and its ratio to the checkpoint. */
function storedText(r: RunRecord): string {
  const { storedBytes, checkpointBytes } = r.summary;
  if (!checkpointBytes) return '';
  return storedBytes
    ? `${fmtBytes(storedBytes)} (${(storedBytes / checkpointBytes).toFixed(2)}×)`
    : fmtBytes(checkpointBytes);
}

function download(name: string, type: string, text: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** A run as one cell: its method (and where its figures came from), model and time, then every other setting. */
function RunCell({ run: r }: { run: RunRecord }) {
  const fields = specFields(r.spec).filter((f) => f.key !== 'model' && f.key !== 'method');
  return (
    <td className="run-cell">
      <div>
        <b>{r.summary.label}</b>
        {r.shared ? ' (shared)' : ''}
        {r.cached ? ' (cached)' : ''}
        {r.imported ? ' (imported bundle)' : ''}
      </div>
      <div className="hint">
        {describeModel(r.spec.model)} · {new Date(r.at).toLocaleTimeString()}
        {r.shared || r.imported ? '' : ` · ${(r.wallMs / 1000).toFixed(1)} s`}
      </div>
      {r.summary.warnings?.map((w) => (
        <div key={w} className="error" data-testid="run-warning" title={w}>
          ⚠ {w}
        </div>
      ))}
      <div className="config" data-testid="run-config">
        {fields.map((f) => (
          <span key={f.key} className="field">
            {f.key} <b>{f.value}</b>
          </span>
        ))}
      </div>
      {r.generation && (
        <details className="run-generation" data-testid="run-generation">
          <summary>generated: “{r.generation.prompt}”</summary>
          {r.generation.fp !== undefined && (
            <div>
              <span className="hint">FP</span> {r.generation.prompt}
              {r.generation.fp}
            </div>
          )}
          {r.generation.quant !== undefined && (
            <div>
              <span className="hint">{r.summary.label}</span> {r.generation.prompt}
              {r.generation.quant}
            </div>
          )}
        </details>
      )}
    </td>
  );
}

function Compare({ a, b }: { a: RunRecord; b: RunRecord }) {
  const datasets = [...new Set([...Object.keys(a.summary.ppl), ...Object.keys(b.summary.ppl)])];
  const tasks = [...new Set([...Object.keys(a.summary.tasks ?? {}), ...Object.keys(b.summary.tasks ?? {})])];
  const fa = specFields(a.spec);
  const fb = specFields(b.spec);
  const keys = [...new Set([...fa.map((f) => f.key), ...fb.map((f) => f.key)])];
  const value = (fs: typeof fa, k: string) => fs.find((f) => f.key === k)?.value ?? '—';
  // settings (and what they imply, bits per weight) are highlighted where they differ; a measured time always does
  const rows: [string, string, string, boolean][] = [
    ...keys.map((k): [string, string, string, boolean] => [k, value(fa, k), value(fb, k), true]),
    ['bits per weight', bitsSplit(a.summary), bitsSplit(b.summary), true],
    ['stored', storedText(a), storedText(b), true],
    [
      'quantization time',
      a.summary.quantizeMs ? `${(a.summary.quantizeMs / 1000).toFixed(1)} s` : '',
      b.summary.quantizeMs ? `${(b.summary.quantizeMs / 1000).toFixed(1)} s` : '',
      false,
    ],
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
        {rows.map(([k, x, y, setting]) => {
          const differs = setting && x !== y;
          return (
            <tr key={k} className={differs ? 'differs' : undefined}>
              <td>{k}</td>
              <td>{x}</td>
              <td>{y}</td>
              <td>{differs ? 'differs' : ''}</td>
            </tr>
          );
        })}
        {datasets.map((ds) => {
          const x = a.summary.ppl[ds as keyof typeof a.summary.ppl];
          const y = b.summary.ppl[ds as keyof typeof b.summary.ppl];
          return (
            <tr key={ds}>
              <td>{ds} perplexity</td>
              <td>{x?.toFixed(4) ?? '—'}</td>
              <td>{y?.toFixed(4) ?? '—'}</td>
              <td>{x !== undefined && y !== undefined ? signed(y - x, 4) : ''}</td>
            </tr>
          );
        })}
        {tasks.flatMap((task) =>
          (['acc', 'accNorm'] as const).map((m) => {
            const x = a.summary.tasks?.[task as keyof typeof a.summary.tasks]?.[m];
            const y = b.summary.tasks?.[task as keyof typeof b.summary.tasks]?.[m];
            if (x === undefined && y === undefined) return null;
            return (
              <tr key={task + m}>
                <td>
                  {task} {m === 'acc' ? 'acc' : 'acc_norm'}
                </td>
                <td>{x?.toFixed(4) ?? '—'}</td>
                <td>{y?.toFixed(4) ?? '—'}</td>
                <td>{x !== undefined && y !== undefined ? signed(y - x, 4) : ''}</td>
              </tr>
            );
          }),
        )}
      </tbody>
    </table>
  );
}

export function ResultsPanel() {
  const { runs, compare, toggleCompare, removeRun, clearRuns } = useLab(
    useShallow((s) => ({
      runs: s.runs,
      compare: s.compare,
      toggleCompare: s.toggleCompare,
      removeRun: s.removeRun,
      clearRuns: s.clearRuns,
    })),
  );
  const picked = compare.map((id) => runs.find((r) => r.id === id)).filter(Boolean) as RunRecord[];
  // newest first, whatever order rows arrived in (shared figures, imported bundles)
  const rows = [...runs].sort((a, b) => b.at - a.at);
  const withTasks = runs.some((r) => r.summary.tasks);
  return (
    <section className="panel" data-testid="results-panel">
      <h2>
        Results{' '}
        {runs.length > 0 && (
          <span className="hint">
            ({runs.length} run{runs.length > 1 ? 's' : ''}, newest first)
          </span>
        )}
      </h2>
      {runs.length === 0 ? (
        <p className="hint">Finished runs appear here and stay after a reload.</p>
      ) : (
        <>
          <div className="row">
            <button
              onClick={() => download('quantization-lab-runs.csv', 'text/csv', runsToCsv(runs))}
              data-testid="download-csv"
            >
              Download CSV
            </button>
            <button onClick={() => download('quantization-lab-runs.json', 'application/json', runsToJson(runs))}>
              Download JSON
            </button>
            <button onClick={clearRuns}>Clear the table</button>
            <span className="hint">tick two runs to compare them</span>
          </div>
          <div className="table-scroll">
            <table data-testid="runs-table">
              <thead>
                <tr>
                  <th>
                    <span className="visually-hidden">compare</span>
                  </th>
                  <th className="run-head">run</th>
                  <th>perplexity (Δ to FP)</th>
                  {withTasks && <th>zero-shot acc (Δ to FP)</th>}
                  <th>bits/weight</th>
                  <th>
                    <span className="visually-hidden">remove</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id} title={describeSpec(r.spec)}>
                    <td>
                      <input
                        type="checkbox"
                        checked={compare.includes(r.id)}
                        onChange={() => toggleCompare(r.id)}
                        aria-label="compare"
                        title={`compare ${r.summary.label}`}
                      />
                    </td>
                    <RunCell run={r} />
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
                    {withTasks && (
                      <td data-testid="run-tasks">
                        {Object.entries(r.summary.tasks ?? {}).map(([task, t]) => {
                          const fp = r.summary.tasksBefore?.[task as keyof typeof r.summary.tasks];
                          return (
                            <div key={task}>
                              {task} {t!.acc.toFixed(3)}
                              {fp && ` (${signed(t!.acc - fp.acc, 3)})`}
                              {t!.accNorm !== undefined &&
                                ` · norm ${t!.accNorm.toFixed(3)}` +
                                  `${fp?.accNorm !== undefined ? ` (${signed(t!.accNorm - fp.accNorm, 3)})` : ''}`}
                              <span className="hint"> 0-shot, n={t!.items}</span>
                            </div>
                          );
                        })}
                      </td>
                    )}
                    <td>
                      <span data-testid="run-bits">{bitsSplit(r.summary)}</span>
                      {storedText(r) && (
                        <div className="hint" data-testid="run-stored">
                          {r.summary.storedBytes ? `stored ${storedText(r)}` : `checkpoint ${storedText(r)}`}
                        </div>
                      )}
                    </td>
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
