// Export a finished run: a format (GPTQ checkpoint, fake-quantized checkpoint, the lab's bundle), each one the run
// cannot be written in disabled with the reason; a folder picker where the browser has one (else one download per
// file); progress per file, then the files written with their sizes and what the export rounded or left out.
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { describeChoice } from '../store/modelSlice.ts';
import { directoryPicker } from '../store/exportSlice.ts';
import { exportRefusal, SAVE_FORMATS, type SaveFormat } from '../pipeline/export.ts';
import { fmtBytes } from '../gpu/gpu.ts';
import type { EvalResult } from '../pipeline/types.ts';
import type { ModelConfig } from '../model/config.ts';

export const FORMAT_INFO: Record<SaveFormat, { title: string; what: string }> = {
  gptq: {
    title: 'GPTQ checkpoint',
    what:
      'packed codes, f16 scales, zero points and g_idx per linear layer (GPTQ v1): transformers, ' +
      'AutoGPTQ/GPTQModel and vLLM load it, and so does this lab (pick the folder as a local model)',
  },
  fake: {
    title: 'fake-quantized checkpoint',
    what:
      'the same architecture with each linear weight replaced by its dequantized values, ' +
      "in the run's weight storage: any loader reads it",
  },
  bundle: {
    title: 'lab bundle',
    what:
      "the recipe, the figures, every block's reports and the quantized weights: " +
      "import it here to get this run's row and Inspect views back without recomputing",
  },
};

/** Why each format is impossible for this result (null: possible), checked against the model's widths when probed. */
export function refusals(result: EvalResult, cfg: ModelConfig | undefined): Record<SaveFormat, string | null> {
  return Object.fromEntries(SAVE_FORMATS.map((f) => [f, exportRefusal(f, result, cfg)])) as Record<
    SaveFormat,
    string | null
  >;
}

export function ExportPanel() {
  const { result, resultModel, model, probe, status, exportFormat, setExportFormat, exporting, exportResult } = useLab(
    useShallow((s) => ({
      result: s.result,
      resultModel: s.resultModel,
      model: s.model,
      probe: s.probe,
      status: s.status,
      exportFormat: s.exportFormat,
      setExportFormat: s.setExportFormat,
      exporting: s.exporting,
      exportResult: s.exportResult,
    })),
  );
  const [open, setOpen] = useState(false);
  if (!result?.quant) return null;
  const runModel = resultModel ?? model;
  // the run's own config (its widths decide what packs); results from before it kept one: the probe of the same model
  const cfg =
    result.modelConfig ??
    (probe.status === 'done' && probe.of === describeChoice(runModel) ? probe.info?.config : undefined);
  const why = refusals(result, cfg);
  const possible = SAVE_FORMATS.filter((f) => why[f] === null);
  const format =
    why[exportFormat] === null ? exportFormat : (SAVE_FORMATS.find((f) => why[f] === null) ?? exportFormat);
  const refused = why[format];
  const busy = exporting.status === 'running';
  const toFolder = directoryPicker() !== undefined;
  const p = exporting.progress;
  const report = exporting.report;
  return (
    // folded until wanted, so the results table stays in view under the run; open while an export is shown
    <details
      className="export"
      data-testid="export-panel"
      open={open || exporting.status !== 'idle'}
      onToggle={(e) => setOpen(e.currentTarget.open)}
    >
      <summary>
        <h3>Export this run</h3>{' '}
        <span className="hint">as {possible.length ? possible.join(', ') : 'nothing (see why)'}</span>
      </summary>
      <div className="row">
        <label>
          format{' '}
          <select
            data-testid="export-format"
            value={format}
            disabled={busy}
            onChange={(e) => setExportFormat(e.target.value as SaveFormat)}
          >
            {SAVE_FORMATS.map((f) => (
              <option key={f} value={f} disabled={why[f] !== null} title={why[f] ?? FORMAT_INFO[f].what}>
                {f}: {FORMAT_INFO[f].title}
                {why[f] !== null ? ' (not for this run)' : ''}
              </option>
            ))}
          </select>
        </label>
        <button
          data-testid="export"
          disabled={busy || status === 'running' || refused !== null}
          title={refused ?? undefined}
          onClick={() => void exportResult(format)}
        >
          {toFolder ? 'Export to a folder…' : 'Export (downloads)'}
        </button>
      </div>
      <p className="hint" data-testid="export-format-info">
        {FORMAT_INFO[format].what}.{' '}
        {toFolder
          ? 'The files are written into the folder you pick, a tensor at a time.'
          : 'This browser has no folder picker: each file downloads on its own (allow multiple downloads if asked).'}
      </p>
      {SAVE_FORMATS.filter((f) => why[f] !== null).map((f) => (
        <p key={f} className="hint" data-testid={`export-refusal-${f}`}>
          Not as {f}: {why[f]}.
        </p>
      ))}
      {possible.length < SAVE_FORMATS.length && (
        <p className="hint" data-testid="export-possible">
          {possible.length ? `This run can be exported as ${possible.join(' or ')}.` : 'This run cannot be exported.'}
        </p>
      )}
      {busy && (
        <div className="progress" data-testid="export-progress">
          <progress max={1} value={p ? p.done / p.total : undefined} />
          <span className="hint">
            {exporting.target?.kind === 'folder' ? `into "${exporting.target.name}"` : 'as downloads'} ·{' '}
            {p ? `${p.file}: tensor ${p.done} of ${p.total}` : 'reading the run\u2019s blocks from the cache…'}
          </span>
        </div>
      )}
      {exporting.status === 'error' && (
        <p className="error" role="alert" data-testid="export-error">
          {exporting.error}
        </p>
      )}
      {exporting.status === 'done' && report && (
        <div data-testid="export-report">
          <p className="ok">
            Exported as {report.format} ({FORMAT_INFO[report.format].title}){' '}
            {exporting.target?.kind === 'folder' ? `into "${exporting.target.name}"` : 'as downloads'}:
          </p>
          <ul className="files">
            {report.files.map((f) => (
              <li key={f.name} data-testid="export-file" data-name={f.name} data-bytes={f.bytes}>
                {f.name} <span className="hint">{fmtBytes(f.bytes)}</span>
              </li>
            ))}
          </ul>
          {report.notes.length > 0 && (
            <ul className="notes">
              {report.notes.map((n) => (
                <li key={n} className="hint" data-testid="export-note">
                  {n}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </details>
  );
}
